/* rng: counter-based random streams (Philox4x32-10, Salmon et al. 2011).
 *
 * A stream is a pure function of its key and position: rng_stream(seed,
 * purpose, index) gives the same numbers whatever else has been drawn, in any
 * thread, in any order. Streams nest: rng_child(&parent, purpose, index)
 * derives an independent stream from a parent's key (not its position), so
 * episode 417 of target "heldout" at 5 shots can be regenerated alone.
 * Nothing in kshot calls rand(). Not cryptographic; not for secrets. */
#ifndef KSHOT_RNG_H
#define KSHOT_RNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Purposes: the second coordinate of a stream's key, so that streams drawn
 * for different jobs from the same seed never coincide. Append only: the
 * numbers are part of the reproducibility contract. */
enum rng_purpose {
    RNG_INIT = 1,       /* network initialisation */
    RNG_SHUFFLE = 2,    /* minibatch order during training */
    RNG_EPISODE = 3,    /* few-shot episode sampling */
    RNG_TASK = 4,       /* task-family parameters (functions, permutations) */
    RNG_DATA = 5,       /* synthetic data generation */
    RNG_PROBE = 6,      /* robustness probes (noise, PGD starts) */
    RNG_LEARNER = 7,    /* anything a learner draws while adapting */
    RNG_META = 8,       /* meta-training: the source episodes a learner's own pretraining draws */
};

struct rng {
    uint32_t key[2];  /* identifies the stream */
    uint64_t pos;     /* index of the next 128-bit block */
    uint32_t buf[4];  /* current block */
    int avail;        /* unused words left in buf (taken from the end) */
};

/* The raw Philox4x32-10 bijection: out = philox(ctr, key). Exposed for the
 * known-answer tests. */
void rng_philox(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* Root stream for (seed, purpose, index). */
void rng_stream(struct rng *r, uint64_t seed, uint32_t purpose, uint64_t index);

/* Child stream of parent's key for (purpose, index); parent's position is
 * neither used nor changed. */
void rng_child(struct rng *child, const struct rng *parent, uint32_t purpose,
               uint64_t index);

/* 64-bit FNV-1a hash of a string, to turn names into stream indices. */
uint64_t rng_hash_str(const char *s);

/* Draws. */
uint32_t rng_u32(struct rng *r);
uint64_t rng_u64(struct rng *r);
double rng_uniform(struct rng *r);                  /* [0, 1), 53 bits */
double rng_range(struct rng *r, double lo, double hi); /* [lo, hi) */
/* out[i] = (float)rng_range(r, lo, hi) for i = 0..n-1, in order: the same
 * numbers and the same state after, many blocks generated at a time. */
void rng_range_fill(struct rng *r, double lo, double hi, float *out, size_t n);
/* Which Philox rounds rng_range_fill runs (same numbers whichever):
 * "auto" (the widest this CPU has, the default), "avx512", "avx2" or
 * "portable". For tests; false when this CPU cannot run the one named. */
bool rng_use_rounds(const char *name);
double rng_normal(struct rng *r);                   /* N(0, 1), Box–Muller */
/* out[i] = rng_normal(r) for i = 0..n-1, in order: the same numbers and the
 * same state after, the uniforms generated many at a time. */
void rng_normal_fill(struct rng *r, double *out, size_t n);
uint32_t rng_below(struct rng *r, uint32_t n);      /* uniform in [0, n), n ≥ 1, unbiased */
void rng_shuffle(struct rng *r, int *a, size_t n);  /* Fisher–Yates */

#endif
