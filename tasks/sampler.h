/* sampler: N-way K-shot episodes over a classification dataset, paired by key.
 *
 * A sampler indexes the rows of each allowed class once; an episode is then a
 * pure function of (sampler, seed, target_key, ways, shots, queries, index):
 * the same arguments give the same episode in any thread, in any order, and
 * whatever other episodes (other shot counts included) were drawn before.
 * That is what makes every learner's comparison paired.
 *
 * Deliberately not here: loading data, converting rows to floats, balancing
 * or caching episodes, regression targets (tasks/synth draws those). */
#ifndef KSHOT_SAMPLER_H
#define KSHOT_SAMPLER_H

#include <stdint.h>

#include "harness/base/err.h"
#include "tasks/dataset.h"

/* Rows of each allowed class, in dataset order. Read-only once built, so one
 * sampler may serve many threads. */
struct sampler {
    const struct dataset *d; /* borrowed; must outlive the sampler */
    int n_classes;           /* allowed classes */
    int *classes;            /* (n_classes) allowed class ids, as given */
    int *start;              /* (n_classes + 1) class i owns rows[start[i] .. start[i+1]) */
    int *rows;               /* (start[n_classes]) dataset row ids, grouped by class */
    int max_count;           /* largest class, sizes the per-call scratch */
};

/* One episode. Rows are dataset row ids; labels are 0..ways-1, with label l
 * standing for original class classes[l]. Support and query are label-major:
 * support[l·shots + k] is the k-th support row of label l (likewise query
 * with queries); within a label the rows are in random draw order. Learners
 * that care about order shuffle themselves. */
struct episode {
    int ways, shots, queries;
    int *classes;   /* (ways) original class id behind label 0..ways-1 */
    int *support;   /* (ways·shots) dataset rows */
    int *support_y; /* (ways·shots) labels 0..ways-1 */
    int *query;     /* (ways·queries) dataset rows */
    int *query_y;   /* (ways·queries) labels 0..ways-1 */
};

/* --- class index --- */

/* Index the rows of classes[0..n_classes) of d (a classification dataset);
 * ids must be distinct and in [0, d->n_classes). A class may have few rows:
 * sampler_check says whether an episode shape fits. */
int sampler_init(struct sampler *s, const struct dataset *d, const int *classes,
                 int n_classes, struct err *e);
void sampler_free(struct sampler *s);

/* ERR_USAGE unless every allowed class has at least shots + queries rows,
 * naming the first class that does not; call before a run starts. */
int sampler_check(const struct sampler *s, int shots, int queries, struct err *e);

/* --- episodes --- */

/* Zero ep so that sampler_episode and episode_free may use it. */
void episode_init(struct episode *ep);
/* Release ep's arrays and zero it; safe on an initialised episode or NULL. */
void episode_free(struct episode *ep);

/* Draw episode `index` of (seed, target_key, shots) into ep, which must have
 * been episode_init'ed; its arrays are (re)allocated here and may be reused
 * by the next call. The stream is rng_stream(seed, RNG_EPISODE, target_key)
 * → rng_child(RNG_EPISODE, shots) → rng_child(RNG_EPISODE, index): it is
 * keyed by the shot count's value, never by its position in a list.
 * ways distinct classes are drawn uniformly from the allowed set, in a
 * uniformly random order that is the label assignment; then, for label
 * 0, 1, …, shots + queries distinct rows of that class (first shots to the
 * support, the rest to the query). Needs 1 ≤ ways ≤ allowed classes,
 * shots ≥ 1, queries ≥ 1. On failure ep's contents are unspecified but it
 * stays safe to reuse or free. */
int sampler_episode(const struct sampler *s, uint64_t seed, uint64_t target_key, int ways,
                    int shots, int queries, uint64_t index, struct episode *ep,
                    struct err *e);

#endif
