/* learner: the registry of learner kinds, and the lifecycle every kind follows.
 *
 * A learner kind is one row of learner_kinds[] and one file. Its life:
 *
 *   pretrain   none, the shared supervised pretraining (supervised.h), or
 *              the kind's own (meta-training: kind->pretrain), which reads
 *              the source task through a learner_source the harness passes;
 *   new        once per unit: settings, the pretrained network (or none) and
 *              the episode shape; every workspace is sized here, once;
 *   adapt      per episode: the support set gives an adapted model, owned by
 *              the learner and valid until the next adapt or free; the model
 *              is handed to a callback after every recorded step (the final
 *              step always), so evaluating it is the caller's business;
 *   predict / input_grad
 *              on the adapted model: scores for any batch of inputs, and the
 *              gradient of the batch's mean loss with respect to its inputs
 *              (absent for knn, whose votes have none) — for probes;
 *   free.
 *
 * Frozen layers: a kind whose models run every input through a bottom part
 * of the pretrained network it never changes (a linear probe's body,
 * prototypes' and knn's feature extractor) says how many layers (frozen).
 * The harness may then compute each image's output of those layers once,
 * with learner_features, and hand episodes those rows (fewshot.fs/fq) and
 * predict them (model_predict_features): the kind skips the layers.
 *
 * A learner sees matrices (support inputs and labels, query inputs), never
 * episodes, files or the experiment; a pretrained network is shared
 * read-only between workers: learners read it or copy it, and never write
 * it, not even its flop counter. Every operation a learner and its models
 * perform is counted in learner_flops(). Only this registry names a kind:
 * the harness finds kinds, their keys and defaults, and their help here. */
#ifndef KSHOT_LEARNER_H
#define KSHOT_LEARNER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/base/err.h"
#include "harness/base/keydef.h"
#include "harness/base/rng.h"
#include "learners/mlp.h"
#include "learners/optim.h"

#define LEARNER_MAX_LIST 64

enum freeze_kind { FREEZE_NONE, FREEZE_BODY, FREEZE_LAYERS };
enum distance_kind { DIST_EUCLIDEAN, DIST_COSINE };
enum knn_space { SPACE_FEATURES, SPACE_INPUT };

extern const char *const learner_distances[];   /* enum distance_kind, NULL-terminated */
extern const char *const learner_spaces[];      /* enum knn_space, NULL-terminated */

/* What a kind needs before it adapts. */
enum learner_pretraining {
    PRETRAIN_NONE,     /* nothing: it starts from scratch */
    PRETRAIN_SHARED,   /* the shared supervised pretraining on the source task */
    PRETRAIN_OWN,      /* its own (meta-training), keyed by its settings */
};

/* Meta-training settings (learners.<name>.meta.*), for kinds with their own
 * pretraining. */
struct meta_settings {
    long iterations;          /* outer steps */
    long batch;               /* tasks per outer step */
    long ways;                /* classes of a meta-training task (classification) */
    long shots;               /* support rows per class of a task; 0: each evaluated shot count */
    long queries;             /* query rows per class of a task; 0: the target's queries */
    long inner_steps;         /* steps of the inner loop on a task */
    double inner_lr;          /* the inner loop's learning rate */
    int inner_optimizer;      /* enum optim_kind of the inner loop */
    double lr;                /* the outer step size */
    int optimizer;            /* enum optim_kind of the outer step (gradient meta-learners) */
};

/* Settings of one configured learner: every learner key's destination
 * (learner_keys[] below); defaults come from the registry, per kind. */
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
    int n_record;                   /* steps recorded besides the final one */
    long record_steps[LEARNER_MAX_LIST];
    struct meta_settings meta;      /* kinds with their own pretraining */
};

/* One episode as matrices; for learner_new, only the sizes are read. */
struct fewshot {
    int ways;          /* classes (labels 0..ways-1); 0 for regression */
    int out_dim;       /* outputs: ways, or regression targets per row */
    int dim;           /* input features */
    int n_support, n_query;
    const float *xs;   /* (n_support, dim) */
    const int *ys;     /* (n_support) labels, classification */
    const float *ts;   /* (n_support, out_dim) targets, regression */
    const float *xq;   /* (n_query, dim) */
    /* The query set's labels (n_query) or targets (n_query, out_dim): given
     * to a meta-training (learner_source.episode), never to adapt. */
    const int *yq;
    const float *tq;
    /* The rows through the kind's frozen layers (learner_frozen), when the
     * harness computed them once per image for many episodes: fs (n_support,
     * width), fq (n_query, width), width the output size of those layers.
     * Then xs and xq may be NULL. NULL when not given: the kind runs the
     * layers itself. */
    const float *fs, *fq;
};

/* What a learner is built on. */
struct learner_env {
    const struct mlp *pretrained;   /* NULL when the kind needs none */
    const float *extra;             /* state saved with an own pretraining (e.g. learned rates) */
    size_t n_extra;
    struct mlp_arch arch;           /* fresh networks: the experiment's network for the shape */
    int init;                       /* enum init_kind of fresh networks */
};

/* What a pretraining reads from the source task; the harness implements it. */
struct learner_source {
    int dim;            /* input features */
    int classes;        /* classes (labels 0..classes-1); 0 for regression */
    int out_dim;        /* outputs: classes, or regression targets */
    int n;              /* rows */
    void *arg;
    /* x (m, dim) and labels y (m) (classification) or targets t (m, out_dim)
     * (regression) of the source rows idx[0..m), each in [0, n). */
    void (*rows)(void *arg, const int *idx, int m, float *x, int *y, float *t);
    /* Meta-training task number index, from a stream of its own (never the
     * evaluation's episodes): ways of the source's classes with shots
     * support and queries query rows each, labels 0..ways-1; or, for a
     * regression family, a fresh function with shots and queries points.
     * *out's matrices belong to the source until its next call. */
    int (*episode)(void *arg, uint64_t index, int ways, int shots, int queries,
                   struct fewshot *out, struct err *e);
};

/* What a pretraining reports. */
struct pretrain_result {
    long examples;        /* source rows stepped on */
    double train_loss;    /* the mean training loss at the end */
    bool diverged;        /* a loss was not finite: training stopped there */
};

/* What a kind's own pretraining is given. */
struct pretrain_env {
    const struct learner_source *src;
    struct mlp_arch arch;           /* the network it makes (outputs: meta.ways, or regression's) */
    int init;                       /* enum init_kind of the fresh network */
    uint64_t seed;
    long shots;                     /* the shot count its tasks have */
    long queries;                   /* query rows per class (or points) of its tasks */
    volatile sig_atomic_t *stop;    /* polled: ERR_STOPPED when set */
};

struct learner;         /* opaque: a kind's workspaces and its current model */
struct learner_model;   /* opaque: an adapted model, owned by its learner */

/* Called after adaptation step `step` (-1 for kinds without steps) with the
 * model as it is then. Returning non-zero stops the learner with that code. */
typedef int (*learner_record_fn)(void *arg, int step, struct learner_model *m);

/* A setting a kind accepts, and its default for that kind (NULL: the key's own). */
struct kind_key {
    const char *name;
    const char *def;
};

struct learner_kind {
    const char *name;
    const char *summary;
    bool classification_only;
    bool logits;                    /* softmax(scores) is its predictive distribution */
    bool baseline;                  /* the no-transfer baseline others are compared with by
                                       default (summary.csv's transfer_gain) */
    const struct kind_key *keys;    /* the learner_keys[] it accepts; {NULL} ends it */
    /* Which pretraining settings s need (enum learner_pretraining). */
    int (*pretraining)(const struct learner_settings *s);
    /* Said when it needs a source and the experiment has none ("" if nothing helps). */
    const char *no_source_hint;
    /* PRETRAIN_OWN: make *net (and state *extra of *n_extra floats, saved with
     * the checkpoint and handed back as learner_env.extra), one per shot
     * count when per_shots says so. NULL for other kinds. */
    int (*pretrain)(const struct learner_settings *s, const struct pretrain_env *env,
                    struct mlp *net, float **extra, size_t *n_extra, struct pretrain_result *res,
                    struct err *e);
    bool (*per_shots)(const struct learner_settings *s);
    /* Operations of that pretraining with tasks of `rows` support and
     * `qrows` query rows, for `kshot plan`. */
    uint64_t (*pretrain_cost)(const struct learner_settings *s, int rows, int qrows,
                              const struct mlp_arch *net);
    /* Layers at the bottom of the pretrained network pre that s's models run
     * every input through unchanged (0 or NULL: none): the kind accepts
     * their outputs as fewshot.fs/fq and as predict's f. */
    int (*frozen)(const struct learner_settings *s, const struct mlp_arch *pre);
    /* ---- the lifecycle (learner_impl.h) ---- */
    int (*init)(struct learner *l, struct err *e);
    int (*adapt)(struct learner *l, const struct fewshot *t, struct rng *r, learner_record_fn rec,
                 void *arg, struct err *e);
    /* Scores of n rows given as inputs x (n, dim) or, when x is NULL, as
     * their outputs f (n, width) of the frozen layers. */
    int (*predict)(struct learner *l, const float *x, const float *f, int n, float *scores,
                   struct err *e);
    /* predicted: x holds what it held when the model's last predict scored
     * it (model_input_grad_predicted), so a kind may reuse that forward
     * pass if nothing has run since. */
    int (*input_grad)(struct learner *l, const float *x, const int *y, const float *t, int n,
                      bool predicted, float *dx, double *loss, struct err *e);   /* NULL: none */
    /* The adapted model's body (every layer of the pretrained network but its
     * head, as adapted) for inputs x: out (n, the pretrained body's width).
     * For kinds that may change a pretrained body (forgetting); NULL for
     * the others. */
    int (*body)(struct learner *l, const float *x, int n, float *out, struct err *e);
    void (*release)(struct learner *l);
    /* Operations one episode of this shape costs, for `kshot plan`. */
    uint64_t (*cost)(const struct learner_settings *s, const struct fewshot *shape,
                     const struct mlp_arch *net);
};

extern const struct learner_kind *const learner_kinds[];
extern const int learner_n_kinds;

/* Every learner setting: destinations in struct learner_settings. */
extern const struct keydef learner_keys[];
extern const int learner_n_keys;

/* ---- the registry ---- */

/* Index of a kind by name, or -1. */
int learner_find(const char *name);
/* kind's default for key (YAML text), or NULL when kind does not accept it. */
const char *learner_key_default(int kind, const char *key);
/* Whether step is recorded: the final step always, and each record_steps. */
bool learner_recorded(const struct learner_settings *s, long step);
/* Layers of the pretrained network pre (NULL: none) that s's models never
 * change and run every input through (learner_kind.frozen); 0 for none. */
int learner_frozen(const struct learner_settings *s, const struct mlp_arch *pre);
/* out (n, sizes[depth]) = rows x (n, sizes[0]) through the first depth
 * layers of net, computed as a learner's models compute them (up to 256
 * rows per product); operations added to *flops, net is only read. */
int learner_features(const struct mlp *net, int depth, const float *x, int n, float *out,
                     uint64_t *flops, struct err *e);

/* ---- the lifecycle ---- */

/* A learner of kind s->kind for episodes of shape's sizes, built on env
 * (env->pretrained must fit: ERR_USAGE otherwise). NULL on failure. */
struct learner *learner_new(const struct learner_settings *s, const struct learner_env *env,
                            const struct fewshot *shape, struct err *e);
/* Adapt to t (its sizes must be shape's), drawing from r; rec gets the model
 * after every recorded step. *out (may be NULL) receives the final model. */
int learner_adapt(struct learner *l, const struct fewshot *t, struct rng *r,
                  learner_record_fn rec, void *arg, struct learner_model **out, struct err *e);
/* Operations performed so far by l and its models. */
uint64_t learner_flops(const struct learner *l);
void learner_free(struct learner *l);

/* Scores (n, out_dim) for inputs x (n, dim). */
int model_predict(struct learner_model *m, const float *x, int n, float *scores, struct err *e);
/* Scores (n, out_dim) for rows given as their outputs f (n, width) of the
 * learner's frozen layers (learner_frozen > 0; ERR_USAGE otherwise). */
int model_predict_features(struct learner_model *m, const float *f, int n, float *scores,
                           struct err *e);
/* Whether softmax(scores) is the model's predictive distribution (a loss is
 * then meaningful; knn's votes are not). */
bool model_logits(const struct learner_model *m);
/* Whether model_input_grad exists for this model. */
bool model_has_input_grad(const struct learner_model *m);
/* out (n, width) = the adapted body's outputs for inputs x (n, dim): the
 * pretrained network's layers but its head, as adaptation left them — what
 * the pretrained source head reads, for forgetting. ERR_USAGE for a kind
 * without one (learner_kind.body). */
int model_body(struct learner_model *m, const float *x, int n, float *out, struct err *e);
/* Whether model_body exists for this model. */
bool model_has_body(const struct learner_model *m);

/* dx (n, dim) = d(mean loss)/dx for inputs x (n, dim): mean cross-entropy
 * of softmax(scores) against labels y (classification), or mean squared
 * error against targets t (n, out_dim). *loss (may be NULL) gets the loss.
 * ERR_USAGE for a model without input gradients. */
int model_input_grad(struct learner_model *m, const float *x, const int *y, const float *t,
                     int n, float *dx, double *loss, struct err *e);
/* model_input_grad where the caller vouches that x holds what it held when
 * m's last model_predict scored it: a model that kept that forward pass
 * (and has run nothing since) computes only the backward one. The same
 * numbers; FGSM's gradient at the clean queries the evaluation scored. */
int model_input_grad_predicted(struct learner_model *m, const float *x, const int *y,
                               const float *t, int n, float *dx, double *loss, struct err *e);

#endif
