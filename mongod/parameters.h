/*
 * parameters.h -- the server parameters at run time: getParameter reads them,
 * setParameter changes them, start-up applies the --setParameter values whose
 * kind is CUSTOM. The table itself is common/parameters.def.
 */
#ifndef MICA_MONGOD_PARAMETERS_H
#define MICA_MONGOD_PARAMETERS_H

#include "common/common.h"

/* The feature compatibility version Mica implements (buildInfo says 7.0.0). */
#define MICAD_FCV "7.0"

struct micad;

/* micad_param_append -- the parameter's current value, appended to out as key. */
void micad_param_append(const struct micad *m, opts_param_id_t id, bson_t *out, const char *key);
/*
 * micad_param_set -- check v and make it the parameter's value (setParameter;
 * the caller has checked that it is settable at run time). BadValue /
 * TypeMismatch for a value the parameter does not take, as mongod answers.
 */
int micad_param_set(opts_param_id_t id, const bson_iter_t *v, status_t *st);
/*
 * micad_params_startup -- apply the --setParameter values that live outside
 * common's table (logLevel, internalQueryFrameworkControl); BadValue for a bad
 * one (the process then exits with code 2).
 */
int micad_params_startup(const opts_t *o, status_t *st);
/* micad_param_no_table_scan -- notablescan applies to a query on ns with this filter. */
bool micad_param_no_table_scan(const char *ns, bool empty_filter);

#endif
