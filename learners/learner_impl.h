/* learner_impl: what a learner kind's file sees of the lifecycle (private to learners/).
 *
 * learner.c owns a struct learner from learner_new to learner_free and calls
 * the kind's functions with it; a kind keeps its workspaces and its adapted
 * model in l->state (made by init, freed by release) and adds every
 * operation to l->flops. The model a kind's adapt hands to the recorder is
 * &l->model: the learner's current state, so predict and input_grad read
 * whatever adapt last left there. Also here: the body, the pretrained
 * network's feature extractor the reusing kinds share. */
#ifndef KSHOT_LEARNER_IMPL_H
#define KSHOT_LEARNER_IMPL_H

#include "learners/learner.h"

struct learner_model {
    struct learner *l;
};

struct learner {
    const struct learner_kind *kind;
    struct learner_settings s;
    struct learner_env env;     /* the pretrained network stays the caller's, read only */
    struct fewshot shape;       /* the sizes workspaces were made for; no data */
    int cap;                    /* rows a workspace holds: max(n_support, n_query) */
    uint64_t flops;             /* operations of everything this learner and its models did */
    struct learner_model model;
    void *state;                /* the kind's */
};

/* Whether a pretrained network fits: present, taking shape->dim inputs and,
 * when keeps_head (regression keeps the pretrained head), giving
 * shape->out_dim outputs. 0, or ERR_USAGE with a message. */
int learner_check_pretrained(const struct mlp *pretrained, const struct fewshot *shape,
                             bool keeps_head, struct err *e);

/* ---- the body: layers 0..upto-1 of a network, read only ----
 *
 * Forward through a view of the network (it shares the parameters and
 * counts into its own flop counter, so the shared network is never
 * written), cap rows at a time; a batch of at most cap rows runs as one
 * product per layer, as the whole network's forward would run it. */
struct body {
    struct mlp view;            /* the network's parameters, this body's flop count */
    struct mlp_work w;          /* cap rows */
    int upto;                   /* layers run; 0: the body is empty, features are inputs */
    int dim;                    /* inputs per row */
    int width;                  /* features per row: sizes[upto] (dim when empty) */
};

int body_init(struct body *b, const struct mlp *net, int upto, int cap, struct err *e);
/* The empty body of inputs of dim features: its features are its inputs. */
void body_identity(struct body *b, int dim);
void body_free(struct body *b);
/* out (n, width) = the body's outputs for x (n, sizes[0]); adds to *flops. */
void body_forward(struct body *b, const float *x, int n, float *out, uint64_t *flops);
/* Forward at most cap rows, keeping activations for body_backward; returns
 * the outputs (m, width), owned by b (x itself for an empty body). */
const float *body_forward_keep(struct body *b, const float *x, int m, uint64_t *flops);
/* dx (m, sizes[0]) = d/dx of the last body_forward_keep (of m rows) given
 * dout (m, width); no parameter gets a gradient. */
void body_backward(struct body *b, const float *dout, int m, float *dx, uint64_t *flops);

/* ---- sums over features, for the distance-based kinds ----
 *
 * Sums in double over the features of float rows, each accumulated over
 * features 0..d−1 in order — the bits of the plain loop — but computed for
 * many rows at once (the loop runs across rows, which vectorises without
 * reordering any sum). qt is the caller's scratch of
 * feature_sums_scratch(m, k, d) doubles (m rounded up to SUM_ROWS, plus k,
 * times d: the rows transposed, and the centres in double). */
enum { SUM_ROWS = 16 };

/* out[i·k + c] = Σ_j (q_ij − c_cj)² when !dot, Σ_j q_ij·c_cj when dot, for
 * rows q (m, d) and centres c (k, d); also norms[i] = Σ_j q_ij² when norms
 * is not NULL. */
void feature_sums(const float *q, int m, const float *c, int k, int d, bool dot, double *qt,
                  double *out, double *norms);
size_t feature_sums_scratch(int m, int k, int d);

/* out[p] = Σ_j (q_ij − c_cj)² (feature_sums' bits) for the n pairs p = i·k
 * + c listed in pick, for rows q (at least max i + 1, d) and centres c (k,
 * d); the other entries of out are left as they are. Per pair about six
 * times feature_sums' cost: for a few pairs among many. */
void feature_pair_sums(const float *q, const float *c, int k, int d, const int *pick, int n,
                       double *out);

#endif
