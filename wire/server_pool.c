/*
 * server_pool.c -- the worker threads that run commands. Loop threads never
 * run command work: they hand a job here and get it back through their
 * completion queue.
 *
 * Hand-off: idle workers wait on a LIFO stack, each on its own condition
 * variable. A job goes straight to the most recently idle worker (its caches
 * are warm; the coldest ones are the ones left to time out) and wakes exactly
 * that thread: no broadcast, no herd, nobody spins. With no idle worker the
 * job waits in a FIFO queue that busy workers drain before they go idle.
 *
 * Growth: the pool keeps `min_threads` (2 per core) *runnable* workers. It
 * does not grow merely because every worker is busy -- on a CPU-bound load
 * more threads only add context switches and lock convoys (at 64 clients the
 * old rule of "no idle worker: spawn one" ran 64+ workers on 2 cores). It
 * grows when workers block: a command that waits for something other than
 * the CPU (a journal fsync, awaitData, write concern, a remote call) wraps
 * the wait in wire_worker_block_begin/end, and a worker that blocks while
 * jobs wait is replaced at once. As a safety net for a wait nobody marked, a
 * monitor adds one worker whenever the oldest queued job has waited
 * WIRE_POOL_STALL_MS, up to max_threads. Threads above the minimum exit after
 * WIRE_POOL_IDLE_SEC without work, so a burst does not pin its threads.
 */
#include "wire/transport_int.h"

#include <errno.h>
#include <time.h>

/* WIRE_POOL_IDLE_SEC -- how long a surplus worker waits for work before exiting. */
#define WIRE_POOL_IDLE_SEC 30
/*
 * WIRE_POOL_STALL_MS -- a queued job older than this with no idle worker
 * means the busy workers are stuck in a wait nobody marked: add one. Far
 * above a CPU-bound queue's wait (clients x ~0.1 ms), far below any timeout.
 */
#define WIRE_POOL_STALL_MS 50

typedef struct wire_worker wire_worker_t;
struct wire_worker {
    pthread_cond_t wake;
    wire_job_t *job;          /* handed over while idle */
    wire_worker_t *next_idle; /* the idle stack */
};

struct wire_pool {
    pthread_mutex_t lock;
    pthread_cond_t exited;  /* a thread left */
    pthread_cond_t monitor; /* the stall monitor's sleep */
    wire_job_t *head, *tail;
    int64_t head_since_us; /* when the queue's oldest job arrived */
    wire_worker_t *idle;   /* LIFO */
    int n_threads, n_idle, n_blocked;
    int min_threads, max_threads;
    bool stopping, monitor_running;
    pthread_t monitor_thread;
    void (*run)(wire_job_t *);
};

/* The calling thread's pool, for wire_worker_block_begin/end (NULL off the pool). */
static __thread wire_pool_t *t_pool;

static int spawn(wire_pool_t *p);

/* dequeue -- the oldest queued job; called with the lock held. */
static wire_job_t *dequeue(wire_pool_t *p)
{
    wire_job_t *job = p->head;
    if (job == NULL)
        return NULL;
    p->head = job->next;
    if (p->head == NULL)
        p->tail = NULL;
    else
        p->head_since_us = time_mono_us(); /* close enough: the next one's wait starts now */
    job->next = NULL;
    return job;
}

/* want_more -- whether a queued job needs one more worker; lock held. */
static bool want_more(const wire_pool_t *p)
{
    int runnable = p->n_threads - p->n_idle - p->n_blocked;
    return p->head != NULL && p->n_idle == 0 && runnable < p->min_threads &&
           p->n_threads < p->max_threads;
}

/* worker_main -- run jobs; sleep on its own condition when there are none. */
static void *worker_main(void *arg)
{
    wire_pool_t *p = arg;
    wire_worker_t self = {.job = NULL, .next_idle = NULL};

    pthread_cond_init(&self.wake, NULL);
    t_pool = p;
    log_set_ctx("worker");
    pthread_mutex_lock(&p->lock);
    for (;;) {
        wire_job_t *job = dequeue(p);
        if (job == NULL && !p->stopping) {
            struct timespec ts;
            int rc = 0;
            self.next_idle = p->idle;
            p->idle = &self;
            p->n_idle++;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += WIRE_POOL_IDLE_SEC;
            while (self.job == NULL && !p->stopping && rc != ETIMEDOUT)
                rc = pthread_cond_timedwait(&self.wake, &p->lock, &ts);
            job = self.job;
            self.job = NULL;
            if (job == NULL) {
                /* still on the idle stack: take ourselves off */
                for (wire_worker_t **w = &p->idle; *w; w = &(*w)->next_idle) {
                    if (*w == &self) {
                        *w = self.next_idle;
                        p->n_idle--;
                        break;
                    }
                }
                if (p->stopping || p->n_threads > p->min_threads)
                    break;
                continue;
            }
        }
        if (job == NULL) /* stopping with nothing left */
            break;
        pthread_mutex_unlock(&p->lock);
        p->run(job);
        pthread_mutex_lock(&p->lock);
    }
    p->n_threads--;
    pthread_cond_broadcast(&p->exited); /* only wire__pool_destroy waits on it */
    pthread_mutex_unlock(&p->lock);
    pthread_cond_destroy(&self.wake);
    return NULL;
}

/* monitor_main -- the safety net: a job stuck in the queue gets one more worker. */
static void *monitor_main(void *arg)
{
    wire_pool_t *p = arg;
    log_set_ctx("workerMonitor");
    pthread_mutex_lock(&p->lock);
    while (!p->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += WIRE_POOL_STALL_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        if (p->head == NULL)
            ts.tv_sec += 3600; /* nothing queued: sleep until a job waits */
        pthread_cond_timedwait(&p->monitor, &p->lock, &ts);
        if (p->head != NULL && p->n_idle == 0 && p->n_threads < p->max_threads &&
            time_mono_us() - p->head_since_us >= WIRE_POOL_STALL_MS * 1000)
            (void)spawn(p);
    }
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

/* wire__pool_create -- start min_threads workers and the stall monitor. */
int wire__pool_create(int min_threads, int max_threads, void (*run)(wire_job_t *),
                      wire_pool_t **out, status_t *st)
{
    wire_pool_t *p = bson_malloc0(sizeof(*p));

    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->exited, NULL);
    pthread_cond_init(&p->monitor, NULL);
    p->min_threads = min_threads < 1 ? 1 : min_threads;
    p->max_threads = max_threads < p->min_threads ? p->min_threads : max_threads;
    p->run = run;
    pthread_mutex_lock(&p->lock);
    int rc = pthread_create(&p->monitor_thread, NULL, monitor_main, p);
    p->monitor_running = rc == 0;
    for (int i = 0; rc == 0 && i < p->min_threads; i++)
        rc = spawn(p);
    pthread_mutex_unlock(&p->lock);
    if (rc != 0) {
        wire__pool_destroy(p);
        return status_set(st, ERR_InternalError, "cannot start a worker thread: %s", strerror(rc));
    }
    *out = p;
    return 0;
}

/* wire__pool_submit -- to the newest idle worker, else queued (growing only for blocked ones). */
void wire__pool_submit(wire_pool_t *p, wire_job_t *job)
{
    pthread_mutex_lock(&p->lock);
    job->next = NULL;
    wire_worker_t *w = p->idle;
    if (w != NULL) {
        p->idle = w->next_idle;
        p->n_idle--;
        w->job = job;
        pthread_cond_signal(&w->wake);
        pthread_mutex_unlock(&p->lock);
        return;
    }
    if (p->tail)
        p->tail->next = job;
    else {
        p->head = job;
        p->head_since_us = time_mono_us();
        pthread_cond_signal(&p->monitor); /* start watching the queue */
    }
    p->tail = job;
    if (want_more(p))
        (void)spawn(p); /* on failure the queued job waits for a busy worker */
    pthread_mutex_unlock(&p->lock);
}

/* wire_worker_block_begin -- see wire.h: this worker waits; let another run the queue. */
void wire_worker_block_begin(void)
{
    wire_pool_t *p = t_pool;
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    p->n_blocked++;
    if (want_more(p))
        (void)spawn(p);
    pthread_mutex_unlock(&p->lock);
}

/* wire_worker_block_end -- the wait is over. */
void wire_worker_block_end(void)
{
    wire_pool_t *p = t_pool;
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    p->n_blocked--;
    pthread_mutex_unlock(&p->lock);
}

/* wire__pool_destroy -- run what is queued, then stop every worker and wait for them. */
void wire__pool_destroy(wire_pool_t *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    for (wire_worker_t *w = p->idle; w; w = w->next_idle)
        pthread_cond_signal(&w->wake);
    pthread_cond_signal(&p->monitor);
    while (p->n_threads > 0)
        pthread_cond_wait(&p->exited, &p->lock);
    pthread_mutex_unlock(&p->lock);
    if (p->monitor_running)
        pthread_join(p->monitor_thread, NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->exited);
    pthread_cond_destroy(&p->monitor);
    bson_free(p);
}
