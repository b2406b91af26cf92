/* synth: synthetic task families (sinusoid regression, Gaussian clusters) from explicit streams.
 *
 * Everything here is a pure function of its settings and the seeds and keys
 * passed in: a dataset or an episode can be regenerated alone, in any order.
 * Deliberately not here: reading the YAML that fills the settings (the config
 * does), sampling classification episodes (tasks/sampler does), and any
 * preprocessing (tasks/preprocess). */
#ifndef KSHOT_SYNTH_H
#define KSHOT_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "harness/base/err.h"
#include "tasks/dataset.h"

/* --- sinusoid regression (Finn et al. 2017, MAML's protocol) ---
 * A task is y = A·sin(x − φ) with A ~ U[amp_lo, amp_hi), φ ~ U[phase_lo,
 * phase_hi) and inputs x ~ U[x_lo, x_hi). */

struct sinusoid {
    double amp_lo, amp_hi;     /* amplitude A; default 0.1, 5.0 */
    double phase_lo, phase_hi; /* phase φ in radians; default 0, π */
    double x_lo, x_hi;         /* input range; default −5, 5 */
};

void synth_sinusoid_defaults(struct sinusoid *p);

/* ERR_USAGE unless every bound is finite and each lo ≤ hi. */
int synth_sinusoid_check(const struct sinusoid *p, struct err *e);

/* Episode `index` of (seed, target_key, shots): one fresh function, `shots`
 * support points (xs, ys) and `queries` query points (xq, yq), all (count)
 * floats. The stream is rng_stream(seed, RNG_TASK, target_key) →
 * rng_child(RNG_TASK, shots) → rng_child(RNG_TASK, index), keyed like the
 * sampler's; it draws A, φ, then the support x's, then the query x's.
 * y = (float)(A·sin((double)x − φ)) for the float x returned. amp and phase
 * (may be NULL) receive A and φ. p must pass synth_sinusoid_check. */
void synth_sinusoid_episode(const struct sinusoid *p, uint64_t seed, uint64_t target_key,
                            int shots, int queries, uint64_t index, float *xs, float *ys,
                            float *xq, float *yq, double *amp, double *phase);

/* A regression dataset (dim 1, one target) of `size` rows, each (x, y) from
 * its own fresh function: the pretraining stream, where `size` points drawn
 * from fresh functions make one epoch. Drawn sequentially from
 * rng_stream(seed, RNG_DATA, rng_hash_str("sinusoid")), A, φ, x per row.
 * out is overwritten (dataset_init'ed first); it is empty on failure. */
int synth_sinusoid_dataset(const struct sinusoid *p, uint64_t seed, size_t size,
                           struct dataset *out, struct err *e);

/* --- Gaussian clusters ---
 * Class c has centre μ_c ~ N(0, separation²·I) and points μ_c + N(0, I).
 * Difficulty knob: the Bayes-optimal error between two classes is
 * Φ(−‖μ_a − μ_b‖ / 2), and ‖μ_a − μ_b‖² ~ 2·separation²·χ²(dim), so a typical
 * pair errs with Φ(−separation·√(dim/2)); the defaults give Φ(−1.58) ≈ 6%
 * per pair. Raise separation (or dim) for an easier family. */

struct clusters {
    int classes;       /* number of classes; default 10 */
    int dim;           /* features; default 20 */
    double separation; /* centre scale, in units of the unit point noise; default 0.5 */
    int per_class;     /* points per class in each split; default 200 */
};

void synth_clusters_defaults(struct clusters *p);

/* ERR_USAGE unless classes ≥ 2, dim ≥ 1, per_class ≥ 1, separation finite ≥ 0. */
int synth_clusters_check(const struct clusters *p, struct err *e);

/* The (classes, dim) centres for seed, drawn class-major from
 * rng_stream(seed, RNG_TASK, rng_hash_str("clusters")). */
void synth_clusters_centres(const struct clusters *p, uint64_t seed, double *centres);

/* A DATASET_F32 classification dataset of classes·per_class rows; row i has
 * label i mod classes (so every prefix is nearly balanced). split 0 (train)
 * and 1 (test) share the centres but draw their points from different
 * streams: rng_child(rng_stream(seed, RNG_DATA, rng_hash_str("clusters")),
 * RNG_DATA, split). out is overwritten; it is empty on failure. */
int synth_clusters_dataset(const struct clusters *p, uint64_t seed, int split,
                           struct dataset *out, struct err *e);

#endif
