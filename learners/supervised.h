/* supervised: the shared pretraining — a fresh network trained by minibatches on the source task.
 *
 * Every learner built on the shared pretraining (finetune, prototypes, knn
 * in feature space) reuses the one network this makes per seed and source
 * recipe. The source task arrives through a learner_source the harness
 * implements over its data, so nothing here knows files or class names.
 * Randomness: initialisation from (seed, RNG_INIT, 0); the order of epoch k
 * from (seed, RNG_SHUFFLE, k), a permutation of the source rows cut into
 * batches in order, the last partial batch kept. Not here: evaluating the
 * pretrained network (the harness's source test accuracy), checkpoints. */
#ifndef KSHOT_SUPERVISED_H
#define KSHOT_SUPERVISED_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "harness/base/err.h"
#include "learners/mlp.h"
#include "learners/optim.h"

/* What a pretraining reads from the source task. */
struct learner_source {
    int dim;            /* input features */
    int classes;        /* classes (labels 0..classes-1); 0 for regression */
    int out_dim;        /* outputs: classes, or regression targets */
    int n;              /* rows */
    void *arg;
    /* x (m, dim) and labels y (m) (classification) or targets t (m, out_dim)
     * (regression) of the source rows idx[0..m), each in [0, n). */
    void (*rows)(void *arg, const int *idx, int m, float *x, int *y, float *t);
};

struct supervised_recipe {
    long epochs;
    long batch;                  /* rows per step; at most the source's rows are used */
    struct optim_settings optim;
    int init;                    /* enum init_kind of the fresh network */
};

struct supervised_result {
    long examples;               /* rows stepped on */
    double train_loss;           /* mean loss over the last epoch */
    bool diverged;               /* a loss was not finite: training stopped there */
};

/* Train a fresh network of architecture arch (inputs src->dim, outputs
 * src->out_dim) into net (initialised here; mlp_free it). Polls *stop
 * between batches: ERR_STOPPED when set. Operations go to net->flops. */
int supervised_pretrain(const struct supervised_recipe *r, const struct learner_source *src,
                        const struct mlp_arch *arch, uint64_t seed, volatile sig_atomic_t *stop,
                        struct mlp *net, struct supervised_result *res, struct err *e);

#endif
