/* trainer: what the gradient learners share — a network trained full batch
 * on the support set, behind an optional frozen prefix of the pretrained
 * network, and the adapted model's predict and input gradients through both.
 *
 * The model is prefix (layers 0..p−1 of the pretrained network, read only)
 * followed by net (the layers trained here). Frozen layers at the bottom map
 * the support rows to the same values at every step, so the support set
 * goes through the prefix once per episode, in one batch, as the whole
 * network's forward would run it: the numbers are those of training the
 * whole network with those layers left out of the optimizer, bit for bit.
 * Workspaces are sized once (trainer_init) for batches of up to cap rows;
 * an episode allocates nothing. Not here: initialising net for an episode
 * (the learner kinds), learning-rate schedules. */
#ifndef KSHOT_TRAINER_H
#define KSHOT_TRAINER_H

#include "learners/learner_impl.h"

/* The settings every gradient learner accepts, for its kind_key list. */
#define TRAINER_KEYS {"steps", NULL}, {"optimizer", NULL}, {"lr", NULL}, {"momentum", NULL}, \
    {"weight_decay", NULL}, {"beta1", NULL}, {"beta2", NULL}, {"epsilon", NULL}, \
    {"record_steps", NULL}

/* The lifecycle entries of a learner_kind whose state begins with its
 * struct trainer: its model's predict and input gradients, release, cost. */
#define TRAINER_LIFECYCLE .predict = trainer_kind_predict, .input_grad = trainer_kind_input_grad, \
    .release = trainer_kind_release, .cost = trainer_cost

struct trainer {
    struct mlp net;                     /* the trained layers */
    struct mlp_work w;                  /* cap rows */
    struct mlp_work wb;                 /* trainer_body's rows, apart from w */
    struct optim o;
    float *dout;                        /* (cap, out_dim) loss gradient */
    struct span spans[MLP_MAX_LAYERS];  /* trainable layers of net (n_spans 0: all of net) */
    int n_spans;
    int first;                          /* lowest trainable layer: backward stops there */
    struct body prefix;                 /* frozen layers 0..p−1 (upto 0: none) */
    float *fs;                          /* (n_support, width) the support set through the prefix */
    float *gx;                          /* (cap, width) a gradient at the prefix's output */
    const float *rates;                 /* (net.n_params) per-parameter rates replacing the
                                           optimizer (Meta-SGD), or NULL; not owned */
    /* The last trainer_predict's inputs and outputs while w (and the
     * prefix's work) still hold its forward pass, for
     * trainer_input_grad(predicted); NULL once anything else ran through
     * them or changed the parameters (trainer_body, which scores the
     * forgetting sample between a predict and an attack, runs through wb,
     * and keeps it unless it ran through the prefix). Code writing
     * net.params directly after a predict sets kept_x to NULL. */
    const float *kept_x, *kept_z;
    int kept_n;
};

/* net gets architecture top (zero parameters); pre and p give the frozen
 * prefix (p = 0: none, pre may be NULL). Batches of up to cap rows, support
 * sets of n_support rows; optimizer o over net's arena. */
int trainer_init(struct trainer *t, const struct mlp_arch *top, const struct mlp *pre, int p,
                 int cap, int n_support, const struct optim_settings *o, struct err *e);
/* Trainable layers of net: those for which trainable(layer, arg) holds
 * (every layer when never called). */
void trainer_trainable(struct trainer *t, bool (*trainable)(int layer, const void *arg),
                       const void *arg);
void trainer_free(struct trainer *t);

/* net's parameters for an episode from src, a pretrained arena laid out as
 * net's (from net's first layer on): all of them or, with new_head, all
 * but the head, which is initialised as head says, drawing from r. */
void trainer_load(struct trainer *t, const float *src, bool new_head, enum init_kind head,
                  struct rng *r);

/* One full-batch step on rows x (ep->n_support of them, net's inputs) with
 * ep's labels (or targets): forward, loss, backward, the optimizer's step
 * (or, with rates, θ ← θ − rates ⊙ ∇, 2 operations per parameter stepped).
 * Returns the loss before the step. Operations go to net.flops. */
double trainer_step(struct trainer *t, const float *x, const struct fewshot *ep);

/* Train net (already initialised for the episode; the optimizer is reset
 * here) on ep's support set (ep->fs, the rows through the prefix, when
 * given) for l->s.steps steps; after every recorded step rec gets
 * &l->model. Flops go to l->flops. */
int trainer_fit(struct trainer *t, struct learner *l, const struct fewshot *ep,
                learner_record_fn rec, void *arg, struct err *e);

/* The model's scores (n, out_dim) for x (n, dim), or when x is NULL for
 * f (n, width), the rows through the prefix; cap rows at a time. */
int trainer_predict(struct trainer *t, struct learner *l, const float *x, const float *f, int n,
                    float *scores);

/* dx (n, dim) of the mean loss over the batch (cross-entropy against y, or
 * MSE against tg (n, out_dim)); *loss the loss. No parameter gradient is
 * touched. */
int trainer_input_grad(struct trainer *t, struct learner *l, const float *x, const int *y,
                       const float *tg, int n, bool predicted, float *dx, double *loss);

/* out (n, width) = inputs x (n, dim) through the prefix and every layer of
 * net but its head: the model's body, as adapted; cap rows at a time. */
int trainer_body(struct trainer *t, struct learner *l, const float *x, int n, float *out);

/* The lifecycle's functions for a kind whose state (l->state, malloc'd)
 * begins with its struct trainer: the model's predict and input gradients,
 * and releasing the state. */
int trainer_kind_predict(struct learner *l, const float *x, const float *f, int n, float *scores,
                         struct err *e);
int trainer_kind_input_grad(struct learner *l, const float *x, const int *y, const float *tg,
                            int n, bool predicted, float *dx, double *loss, struct err *e);
void trainer_kind_release(struct learner *l);
int trainer_kind_body(struct learner *l, const float *x, int n, float *out, struct err *e);

/* Operations of one episode training the whole network net (an estimate
 * for `kshot plan`: a forward and about twice that backward per step, a
 * query forward per recorded step). */
uint64_t trainer_cost(const struct learner_settings *s, const struct fewshot *shape,
                      const struct mlp_arch *net);

#endif
