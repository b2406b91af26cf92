/* metalearn: what the gradient-based meta-learners share (maml, fomaml,
 * anil, metasgd; reptile shares the test time) — the inner loop on a task,
 * the exact gradient of its query loss with respect to where the loop
 * started, the outer loop of meta-training, and the test-time learner.
 *
 * One inner step from θ_i on a task's support set, with rates a (one per
 * parameter: the inner learning rate, 0 for layers the loop leaves alone,
 * or Meta-SGD's learned α) is
 *     θ_{i+1} = θ_i − a ⊙ ∇L_s(θ_i),
 * and after k steps the task's loss is the query loss L_q(θ_k). Its
 * gradient with respect to θ_0 runs back through the steps with the
 * adjoint v (v_k = ∇L_q(θ_k)):
 *     v_i = v_{i+1} − H_i·(a ⊙ v_{i+1}),    dL/da = −Σ_i ∇L_s(θ_i) ⊙ v_{i+1},
 * H_i the Hessian of the support loss at θ_i, applied exactly by tape.h's
 * Hessian-vector product; dL/dθ_0 = v_0. First-order MAML stops at
 * v_0 = v_k. ANIL is a = 0 on the body: the body still gets its gradient,
 * through the head's steps (the Hessian's body–head block).
 *
 * Meta-training draws meta.batch tasks per outer step (learner_source's
 * episodes: never the evaluation's), averages their gradients in double and
 * takes one step of meta.optimizer at meta.lr on θ (and on α for Meta-SGD).
 * Not here: batch norm, learned inner step counts, multi-step losses
 * (MAML++'s per-step query losses). */
#ifndef KSHOT_METALEARN_H
#define KSHOT_METALEARN_H

#include "learners/tape.h"
#include "learners/trainer.h"

/* How a kind meta-learns. */
struct meta_rule {
    bool second_order;   /* through the inner steps (false: first-order MAML) */
    bool head_only;      /* the inner loop adapts the head alone (ANIL) */
    bool learn_rates;    /* per-parameter rates are meta-learned (Meta-SGD) */
};

/* One task's workspace: a tape and a parameter vector per inner step. */
struct meta_work {
    struct mlp_arch arch;
    size_t n;              /* parameters */
    int steps;             /* inner steps k */
    int first;             /* lowest layer the inner loop adapts */
    struct tape *tapes;    /* (k + 1): one per inner step, the last for the query set */
    float *theta;          /* (k + 1, n): θ_0 … θ_k */
    float *g;              /* (k, n): the inner gradients */
    float *v, *u, *hv;     /* (n) the adjoint and scratch */
};

int meta_work_init(struct meta_work *w, const struct mlp_arch *arch, int steps, int first,
                   int cap, struct err *e);
void meta_work_free(struct meta_work *w);

/* One task t (support and query sets, with yq or tq): the inner loop from
 * theta (n) with rates a (n), then the query loss, returned. dtheta (n)
 * gets its gradient with respect to theta, by rule (first order: the query
 * gradient at θ_k); da (n, may be NULL) with respect to a (second order
 * only). Operations added to *flops. */
double meta_task(struct meta_work *w, const struct meta_rule *rule, const float *theta,
                 const float *a, const struct fewshot *t, float *dtheta, float *da,
                 uint64_t *flops);

/* The lowest layer the inner loop adapts, for rule and arch. */
int meta_first(const struct meta_rule *rule, const struct mlp_arch *arch);

/* ---- what the kinds' registry rows point to ---- */

/* Meta-training by rule: the kind's pretrain (learner_kind.pretrain). */
int meta_pretrain(const struct meta_rule *rule, const struct learner_settings *s,
                  const struct pretrain_env *env, struct mlp *net, float **extra,
                  size_t *n_extra, struct pretrain_result *res, struct err *e);
/* Its operations (learner_kind.pretrain_cost). */
uint64_t meta_pretrain_cost(const struct meta_rule *rule, const struct learner_settings *s,
                            int rows, int qrows, const struct mlp_arch *net);
bool meta_per_shots(const struct learner_settings *s);
int meta_pretraining(const struct learner_settings *s);

/* A kind's file: its pretrain and pretrain_cost, meta-training by RULE (a
 * static const struct meta_rule of the file). */
#define META_PRETRAIN(RULE) \
    static int pretrain(const struct learner_settings *s, const struct pretrain_env *env, \
                        struct mlp *net, float **extra, size_t *n_extra, \
                        struct pretrain_result *res, struct err *e) \
    { \
        return meta_pretrain(&RULE, s, env, net, extra, n_extra, res, e); \
    } \
    static uint64_t pretrain_cost(const struct learner_settings *s, int rows, int qrows, \
                                  const struct mlp_arch *net) \
    { \
        return meta_pretrain_cost(&RULE, s, rows, qrows, net); \
    }

/* The registry entries of a kind with its own meta-training (its file's
 * pretrain and pretrain_cost). */
#define META_OWN .pretraining = meta_pretraining, .no_source_hint = "", .pretrain = pretrain, \
    .per_shots = meta_per_shots, .pretrain_cost = pretrain_cost

/* Test time from a meta-learned initialisation. t gets the pretrained
 * network's layers from p on, with a head of the target's width, behind
 * layers 0..p−1 as a frozen prefix (after checking the network fits l);
 * meta_adapt_from loads them for an episode — a new zero head when the
 * target's outputs differ from the meta-trained ones — and trains them on
 * the support set. meta_init and meta_adapt are these for p = 0, with the
 * trainer as l's state. */
int meta_trainer(struct learner *l, struct trainer *t, int p, struct err *e);
int meta_adapt_from(struct learner *l, struct trainer *t, int p, const struct fewshot *ep,
                    struct rng *r, learner_record_fn rec, void *arg, struct err *e);
int meta_init(struct learner *l, struct err *e);
int meta_adapt(struct learner *l, const struct fewshot *ep, struct rng *r,
               learner_record_fn rec, void *arg, struct err *e);

/* The meta-training keys every meta-learner accepts; each kind adds
 * meta.inner_steps, meta.lr and what else it reads, with its defaults. */
#define META_KEYS {"meta", NULL}, {"meta.iterations", NULL}, {"meta.batch", NULL}, \
    {"meta.ways", NULL}, {"meta.shots", NULL}
/* ... and those of the kinds meta-trained by gradient (maml, fomaml, anil, metasgd). */
#define META_GRAD_KEYS {"meta.queries", NULL}, {"meta.optimizer", NULL}, \
    {"meta.inner_steps", "1"}, {"meta.lr", "0.001"}

/* The test-time keys of a kind that adapts with the trainer from its
 * initialisation: plain SGD on the inner loop's rate and steps by default. */
#define META_TEST_KEYS {"steps", "=meta.inner_steps"}, {"optimizer", "sgd"}, \
    {"lr", "=meta.inner_lr"}, {"momentum", NULL}, {"weight_decay", NULL}, {"beta1", NULL}, \
    {"beta2", NULL}, {"epsilon", NULL}, {"record_steps", NULL}

#endif
