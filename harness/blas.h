/* blas: what BLAS kshot runs on, whether it is trustworthy, whether it is fast.
 *
 * OpenBLAS picks a kernel ("core") for the CPU at load time. Versions that
 * do not know a CPU fall back to a generic core several times slower; the
 * fallback is detected by comparing the core with the vector units the CPU
 * has (AVX-512, AVX2). When nobody set OPENBLAS_CORETYPE, kshot selects
 * the better core itself (restarting with it set, since OpenBLAS reads it
 * when it loads) and says so; when a value was set, it is kept, and the
 * warning names the better core with its speed-up measured on this machine. The self-test multiplies a fixed matrix product through the
 * gemm seam and the naive loop and refuses a BLAS that disagrees. */
#ifndef KSHOT_BLAS_H
#define KSHOT_BLAS_H

#include <stdbool.h>
#include <stddef.h>

#include "harness/base/err.h"

struct blas_info {
    char core[64];          /* openblas_get_corename(), e.g. "Haswell" */
    char xsmm[32];          /* libxsmm's target, e.g. "cpx"; "" when products go to OpenBLAS */
    char kernels[128];      /* both, as unit ids and records name them: "Haswell+libxsmm-cpx" */
    char config[256];       /* openblas_get_config() */
    int threads;            /* OpenBLAS threads at the time of the query */
    bool cpu_avx2;          /* the CPU has AVX2 and FMA */
    bool cpu_avx512;        /* the CPU has AVX-512F */
    bool generic;           /* core uses fewer vector units than the CPU has */
    char suggest[32];       /* OPENBLAS_CORETYPE that would fix it, or "" */
    char openblas_chose[64];/* the generic core OpenBLAS chose when kshot selected
                               this one (blas_auto_core), else "" */
};

void blas_query(struct blas_info *info);

/* The OPENBLAS_CORETYPE kshot selects (and restarts itself with) when
 * OpenBLAS fell back to a generic kernel on a CPU that has a better one and
 * nobody chose: coretype is the environment's OPENBLAS_CORETYPE (NULL when
 * unset), selected whether kshot has selected once already. NULL when
 * nothing is to be selected — in particular whenever the user or the
 * environment set a value. */
const char *blas_auto_core(const struct blas_info *info, const char *coretype, bool selected);

/* Restart this process (argv) with blas_auto_core's choice, when there is
 * one; returns only when there is none or the restart failed. After it,
 * blas_query reports the choice in openblas_chose. */
void blas_auto_select(char **argv);

/* How much faster the suggested core computes the products OpenBLAS runs
 * for kshot (a 64×784 · 784×256 product, single-threaded), measured now
 * in a child process against this one; 0 when it cannot be measured. */
double blas_measure_gain(const struct blas_info *info);
/* The same in two halves, so that the child measures while this process
 * does other work: blas_gain_start starts it (NULL when there is nothing
 * to measure or it cannot start), blas_gain_finish waits for it, measures
 * this process and returns the factor (0 when unknown). Every started
 * measurement must be finished (it reaps the child). */
struct blas_gain;
struct blas_gain *blas_gain_start(const struct blas_info *info);
double blas_gain_finish(struct blas_gain *g);

/* GFLOP/s of one thread on that product, best of 5 runs of 10 ms, through
 * gemm (kshot plan's time estimates), or through OpenBLAS alone
 * (openblas_only; kshot's hidden `blas-rate` command prints it for
 * blas_measure_gain). */
double blas_rate(bool openblas_only);

/* One-line warning for a generic fallback (empty when none); gain is
 * blas_measure_gain's factor, or 0 when unknown. */
void blas_warning(const struct blas_info *info, double gain, char *buf, size_t cap);
/* One-line note that kshot selected the core (empty when it did not). */
void blas_note(const struct blas_info *info, char *buf, size_t cap);

/* Compare products through gemm() and gemm_naive(), in every form kshot
 * uses (A·B, Aᵀ·B and A·Bᵀ, so both libxsmm and OpenBLAS are tried); fails
 * with ERR_NUMERIC when the largest difference exceeds 1e-4 of the
 * product's largest magnitude. *max_rel receives the relative difference. */
int blas_selftest(double *max_rel, struct err *e);

/* Use one BLAS thread in this process (workers parallelise instead). */
void blas_single_thread(void);

#endif
