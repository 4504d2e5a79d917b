/*
 * server_pool.c -- the worker threads that run commands. Loop threads never
 * run command work: they hand a job here and get it back through their
 * completion queue.
 *
 * The pool keeps min_threads alive and grows by one thread whenever a job
 * arrives and no worker is idle, up to max_threads: a command may block (write
 * concern, awaitData, a remote call) and must not starve the others. Threads
 * above the minimum exit after WIRE_POOL_IDLE_SEC without work, so a burst
 * does not pin its threads forever.
 */
#include "wire/transport_int.h"

#include <errno.h>
#include <time.h>

/* WIRE_POOL_IDLE_SEC -- how long a surplus worker waits for work before exiting. */
#define WIRE_POOL_IDLE_SEC 30

struct wire_pool {
    pthread_mutex_t lock;
    pthread_cond_t work;   /* jobs queued or stopping */
    pthread_cond_t exited; /* a thread left */
    wire_job_t *head, *tail;
    int n_threads, n_idle;
    int min_threads, max_threads;
    bool stopping;
    void (*run)(wire_job_t *);
};

/* worker_main -- take jobs until told to stop (or idle long enough as a surplus thread). */
static void *worker_main(void *arg)
{
    wire_pool_t *p = arg;

    log_set_ctx("worker");
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->head == NULL && !p->stopping) {
            struct timespec ts;
            int rc;
            p->n_idle++;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += WIRE_POOL_IDLE_SEC;
            rc = pthread_cond_timedwait(&p->work, &p->lock, &ts);
            p->n_idle--;
            if (rc == ETIMEDOUT && p->head == NULL && p->n_threads > p->min_threads)
                goto out;
        }
        if (p->head == NULL) /* stopping with nothing left */
            break;
        wire_job_t *job = p->head;
        p->head = job->next;
        if (p->head == NULL)
            p->tail = NULL;
        job->next = NULL;
        pthread_mutex_unlock(&p->lock);
        p->run(job);
        pthread_mutex_lock(&p->lock);
    }
out:
    p->n_threads--;
    pthread_cond_broadcast(&p->exited);
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* spawn -- one more detached worker; called with the lock held. */
static int spawn(wire_pool_t *p)
{
    pthread_t t;
    pthread_attr_t attr;
    int rc;

    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&t, &attr, worker_main, p);
    pthread_attr_destroy(&attr);
    if (rc == 0)
        p->n_threads++;
    return rc;
}

/* wire__pool_create -- start min_threads workers. */
int wire__pool_create(int min_threads, int max_threads, void (*run)(wire_job_t *),
                      wire_pool_t **out, status_t *st)
{
    wire_pool_t *p = bson_malloc0(sizeof(*p));

    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->exited, NULL);
    p->min_threads = min_threads < 1 ? 1 : min_threads;
    p->max_threads = max_threads < p->min_threads ? p->min_threads : max_threads;
    p->run = run;
    pthread_mutex_lock(&p->lock);
    for (int i = 0; i < p->min_threads; i++) {
        int rc = spawn(p);
        if (rc != 0) {
            pthread_mutex_unlock(&p->lock);
            wire__pool_destroy(p);
            return status_set(st, ERR_InternalError, "cannot start a worker thread: %s",
                              strerror(rc));
        }
    }
    pthread_mutex_unlock(&p->lock);
    *out = p;
    return 0;
}

/* wire__pool_submit -- queue a job; grow when nobody is idle. */
void wire__pool_submit(wire_pool_t *p, wire_job_t *job)
{
    pthread_mutex_lock(&p->lock);
    job->next = NULL;
    if (p->tail)
        p->tail->next = job;
    else
        p->head = job;
    p->tail = job;
    if (p->n_idle == 0 && p->n_threads < p->max_threads)
        (void)spawn(p); /* on failure the queued job waits for a busy worker */
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->lock);
}

/* wire__pool_destroy -- run what is queued, then stop every worker and wait for them. */
void wire__pool_destroy(wire_pool_t *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->work);
    while (p->n_threads > 0)
        pthread_cond_wait(&p->exited, &p->lock);
    pthread_mutex_unlock(&p->lock);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->exited);
    bson_free(p);
}
