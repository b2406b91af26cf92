/* learner: the registry of few-shot learners and the matrices they see.
 *
 * A learner adapts to one episode given as matrices — support inputs and
 * labels (or regression targets), query inputs — and reports its query
 * predictions after each recorded adaptation step through a callback; the
 * harness turns those into metrics. It never sees files, episodes or the
 * experiment. A pretrained network, when its kind needs one, is shared
 * read-only between workers: learners read it (features) or copy it before
 * training, and never write it, not even its flop counter. */
#ifndef KSHOT_LEARNER_H
#define KSHOT_LEARNER_H

#include <stdbool.h>
#include <stdint.h>

#include "harness/base/err.h"
#include "harness/base/rng.h"
#include "learners/mlp.h"
#include "learners/optim.h"

#define LEARNER_MAX_LIST 64

enum freeze_kind { FREEZE_NONE, FREEZE_BODY, FREEZE_LAYERS };
enum distance_kind { DIST_EUCLIDEAN, DIST_COSINE };
enum knn_space { SPACE_FEATURES, SPACE_INPUT };

/* Settings of one configured learner; defaults live in the config schema. */
struct learner_settings {
    int kind;                       /* index into learner_kinds[] */
    long steps;                     /* gradient steps on the support set */
    struct optim_settings optim;    /* optimizer of the adaptation */
    int freeze;                     /* enum freeze_kind (finetune) */
    int n_frozen;
    long frozen[LEARNER_MAX_LIST];  /* FREEZE_LAYERS: layer indices, 0 = first */
    int head;                       /* enum init_kind of a new head (finetune) */
    int distance;                   /* enum distance_kind (prototypes, knn) */
    long k;                         /* neighbours (knn) */
    int space;                      /* enum knn_space (knn) */
    int n_record;                   /* 0: record the final step only */
    long record_steps[LEARNER_MAX_LIST];
};

/* One episode as matrices. */
struct fewshot {
    int ways;          /* classes (labels 0..ways-1); 0 for regression */
    int out_dim;       /* outputs: ways, or regression targets per row */
    int dim;           /* input features */
    int n_support, n_query;
    const float *xs;   /* (n_support, dim) */
    const int *ys;     /* (n_support) labels, classification */
    const float *ts;   /* (n_support, out_dim) targets, regression */
    const float *xq;   /* (n_query, dim) */
};

/* Everything else an adaptation may use; flops is an output. */
struct learner_ctx {
    const struct mlp *pretrained;   /* NULL when the kind needs none */
    struct mlp_arch arch;           /* fresh networks: sizes[0] = dim, hidden sizes, act */
    int init;                       /* enum init_kind of fresh networks */
    struct rng rng;                 /* this episode's learner stream */
    uint64_t flops;                 /* out: operations spent adapting and predicting */
};

/* Called with query scores (n_query, out_dim) after adaptation step `step`
 * (-1 when steps do not apply). logits = true when softmax(scores) is the
 * learner's predictive distribution (a loss is then meaningful).
 * Returning non-zero stops the learner with that code. */
typedef int (*learner_record_fn)(void *arg, int step, const float *scores, bool logits);

struct learner_kind {
    const char *name;
    const char *summary;
    bool classification_only;
    /* Whether settings s need the shared supervised pretraining. */
    bool (*needs_pretrain)(const struct learner_settings *s);
    int (*adapt)(const struct learner_settings *s, const struct fewshot *t,
                 struct learner_ctx *c, learner_record_fn rec, void *arg, struct err *e);
};

extern const struct learner_kind learner_kinds[];
extern const int learner_n_kinds;

/* Index of a kind by name, or -1. */
int learner_find(const char *name);

/* Shared by the gradient-based learners (learner.c): train net on the
 * support set for s->steps full-batch steps over the given trainable spans,
 * reporting query scores at the recorded steps. */
int learner_train(struct mlp *net, const struct learner_settings *s,
                  const struct fewshot *t, const struct span *spans, int n_spans,
                  learner_record_fn rec, void *arg, struct err *e);

/* Whether a pretrained network fits task t: present, taking t->dim inputs
 * and, when keeps_head (regression keeps the pretrained head), giving
 * t->out_dim outputs. 0, or ERR_USAGE with a message. */
int learner_check_pretrained(const struct mlp *pretrained, const struct fewshot *t,
                             bool keeps_head, struct err *e);

/* Features of rows x (n, dim) under the pretrained body, which is read and
 * never written: writes (n, feature size) to out and adds the forward's
 * operations to *flops; returns the feature size, or a negative code. */
int learner_features(const struct mlp *pretrained, const float *x, int n,
                     float *out, uint64_t *flops, struct err *e);

#endif
