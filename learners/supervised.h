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
#include "learners/learner.h"
#include "learners/mlp.h"
#include "learners/optim.h"

struct supervised_recipe {
    long epochs;
    long batch;                  /* rows per step; at most the source's rows are used */
    struct optim_settings optim;
    int init;                    /* enum init_kind of the fresh network */
};

/* Train a fresh network of architecture arch (inputs src->dim, outputs
 * src->out_dim) into net (initialised here; mlp_free it). Polls *stop
 * between batches: ERR_STOPPED when set. Operations go to net->flops;
 * res->train_loss is the mean over the last epoch. */
int supervised_pretrain(const struct supervised_recipe *r, const struct learner_source *src,
                        const struct mlp_arch *arch, uint64_t seed, volatile sig_atomic_t *stop,
                        struct mlp *net, struct pretrain_result *res, struct err *e);

#endif
