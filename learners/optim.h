/* optim: SGD (momentum, weight decay) and Adam over flat parameter arrays.
 *
 * Both follow PyTorch's torch.optim update rules exactly (so kshot can be
 * cross-checked against PyTorch): weight decay is L2 added to the gradient;
 * SGD momentum buffer starts as the first gradient; Adam uses bias-corrected
 * step lr/(1−β1ᵗ) and denominator √v/√(1−β2ᵗ) + eps. A step may be limited
 * to spans of the arena (frozen layers are simply not listed). */
#ifndef KSHOT_OPTIM_H
#define KSHOT_OPTIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/base/err.h"

enum optim_kind { OPTIM_SGD = 0, OPTIM_ADAM = 1 };
extern const char *const optim_names[];   /* by enum optim_kind, NULL-terminated */

struct optim_settings {
    enum optim_kind kind;  /* OPTIM_ADAM */
    double lr;             /* 0.001 */
    double momentum;       /* 0 (SGD only) */
    double weight_decay;   /* 0 */
    double beta1;          /* 0.9 (Adam) */
    double beta2;          /* 0.999 (Adam) */
    double eps;            /* 1e-8 (Adam) */
};

void optim_defaults(struct optim_settings *s);

/* What the optimizer keys mean, for every configuration table that has them
 * (learners.<name>.* and source.train.*). */
#define OPTIM_HELP_MOMENTUM "SGD momentum (sgd only)"
#define OPTIM_HELP_WEIGHT_DECAY "L2 penalty added to the gradient"
#define OPTIM_HELP_BETA1 "Adam's decay of the first moment, below 1 (adam only)"
#define OPTIM_HELP_BETA2 "Adam's decay of the second moment, below 1 (adam only)"
#define OPTIM_HELP_EPSILON "Adam's term added to the denominator (adam only)"

struct span {
    size_t off;  /* first float */
    size_t n;    /* floats */
};

struct optim {
    struct optim_settings s;
    size_t n;    /* arena size */
    float *m;    /* (n) momentum buffer / Adam first moment */
    float *v;    /* (n) Adam second moment; NULL for SGD */
    long t;      /* steps taken */
};

int optim_init(struct optim *o, const struct optim_settings *s, size_t n, struct err *e);
void optim_free(struct optim *o);
/* Forget the state (moments, step count), keep the settings. */
void optim_reset(struct optim *o);
/* One step on params from grads over the given spans (NULL, 0: the whole
 * arena). Spans must lie inside the arena and not overlap; parameters and
 * state outside them are not touched. t counts calls, so Adam's bias
 * correction assumes every listed element has been stepped since the last
 * reset (a learner that unfreezes layers mid-run starts a fresh optimizer).
 * Adds the elementwise work to *flops when not NULL, per element stepped:
 * SGD 2 (lr·d, subtract), +2 with momentum (μ·buf, add); Adam 13 (first
 * moment 3, second moment 4, denominator √v/√bc2 + eps 3, update 3); weight
 * decay adds 2 (wd·p, add) to either. Scalars formed once per step are not
 * counted. */
void optim_step(struct optim *o, float *params, const float *grads,
                const struct span *spans, int n_spans, uint64_t *flops);

/* Which Adam loop optim_step runs (the same bits whichever): "auto" (the
 * fastest this CPU has, the default), "fma512" (AVX-512), "fma256" (AVX2
 * with FMA) or "divide" (every CPU). For tests and benchmarks; false when
 * this CPU cannot run the one named. */
bool optim_use_adam(const char *name);
/* out[i] = x[i] / c as the FMA loops compute it, for the test that proves
 * it the division's: x ≥ 0 as a square root gives it, c in [1e-8, 1].
 * False (and nothing written) when this CPU has no FMA. */
bool optim_quotients(const float *x, float c, float *out, size_t n);

#endif
