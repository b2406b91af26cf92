/* tape: one forward and backward pass of a network kept whole, for exact
 * Hessian-vector products (Pearlmutter's R-operator), which second-order
 * meta-learning needs through every inner step.
 *
 * A tape holds, for one batch at one parameter vector, every layer's
 * pre-activation z, activation h and loss gradient δ = dL/dz, and the
 * softmax of the outputs (classification). tape_hvp then computes H·v, the
 * Hessian of the batch's mean loss with respect to the parameters at that
 * vector, applied to a direction v, by one forward and one backward pass of
 * directional derivatives R(·) = d/dr (·)(θ + r·v) at r = 0:
 *
 *   forward   R(z_l) = R(h_{l−1})·W_l + h_{l−1}·V_l + Vb_l,  R(h_{−1}) = 0
 *             R(h_l) = σ'(z_l) ⊙ R(z_l)
 *   loss      MSE: R(δ_out) = 2·R(out)/(B·D)
 *             cross-entropy: R(δ_out) = (s ⊙ R(z) − s·⟨s, R(z)⟩)/B per row
 *   backward  H·v for W_l = R(h_{l−1})ᵀ·δ_l + h_{l−1}ᵀ·R(δ_l), for b_l = Σ_rows R(δ_l)
 *             R(δ_{l−1}) = σ'(z_{l−1}) ⊙ (R(δ_l)·W_lᵀ + δ_l·V_lᵀ)
 *                          + [tanh] −2·h_{l−1} ⊙ δ_{l−1} ⊙ R(z_{l−1})
 *
 * (ReLU's second derivative is 0; ReLU's first is 1 where z > 0, as mlp.c
 * has it.) Parameters are an arena laid out as struct mlp's, read only: a
 * tape never owns parameters, so the inner steps of a meta-learner keep one
 * tape and one parameter vector per step. When v is zero below layer
 * first (a meta-learner adapting only the head), the passes skip what is
 * zero there; H·v is still written for every layer.
 *
 * FLOPs (B = batch, layer l maps in → out), added to *flops: the forward
 * and backward count as mlp.h says (forward: 2·B·in·out + B·out, + B·out
 * for a hidden activation; backward: B·out activation derivative, 2·in·out·B
 * + B·out for the gradients, 2·B·out·in propagation); the losses as loss.h
 * says, plus B·C to keep the softmax for cross-entropy; tape_hvp per layer
 * from `first` up: 2·B·in·out (+2·B·in·out more above `first`) + B·out
 * forward, + B·out for a hidden activation; the loss term 4·B·D (MSE B·D);
 * per layer top down: 2·in·out·B (+2·in·out·B above `first`) + B·out, and
 * below the top 2·B·out·in (+2·B·out·in from `first` up) + B·in (+4·B·in
 * for tanh's second derivative). */
#ifndef KSHOT_TAPE_H
#define KSHOT_TAPE_H

#include <stddef.h>
#include <stdint.h>

#include "harness/base/err.h"
#include "learners/mlp.h"

struct tape {
    struct mlp_arch arch;
    size_t w_off[MLP_MAX_LAYERS], b_off[MLP_MAX_LAYERS], n_params;
    int cap;                        /* largest batch */
    int batch;                      /* rows of the last forward */
    const float *x;                 /* (batch, sizes[0]) not owned */
    const float *p;                 /* the parameters of the last forward, not owned */
    int ways;                       /* the last loss: classes (cross-entropy) or 0 (MSE) */
    float *z[MLP_MAX_LAYERS];       /* (cap, sizes[l+1]) pre-activations */
    float *h[MLP_MAX_LAYERS];       /* (cap, sizes[l+1]) activations (z itself when linear) */
    float *dz[MLP_MAX_LAYERS];      /* (cap, sizes[l+1]) δ_l = dL/dz_l */
    float *s;                       /* (cap, out) softmax of the outputs (cross-entropy) */
    float *rz[MLP_MAX_LAYERS];      /* (cap, sizes[l+1]) R(z_l) */
    float *rh[MLP_MAX_LAYERS];      /* (cap, sizes[l+1]) R(h_l) (rz itself when linear) */
    float *rd[2];                   /* (cap, widest) R(δ) scratch */
};

int tape_init(struct tape *t, const struct mlp_arch *arch, int cap, struct err *e);
void tape_free(struct tape *t);

/* Forward x (batch, sizes[0]) with parameters p; returns the outputs
 * (batch, out), owned by t. */
const float *tape_forward(struct tape *t, const float *p, const float *x, int batch,
                          uint64_t *flops);

/* The mean loss of the last forward — cross-entropy against labels y when
 * ways > 0, else MSE against targets tg (batch, out) — and its gradient
 * into the tape; then backward: grads (n_params, the arena's layout) of
 * layers ≥ first (other layers' entries untouched), and δ kept for layers
 * ≥ first. *correct as loss_xent's (may be NULL). */
double tape_backward(struct tape *t, int ways, const int *y, const float *tg, int first,
                     float *grads, int *correct, uint64_t *flops);

/* hv = H·v at the last forward's parameters, for the loss of the last
 * tape_backward, which must have kept δ from layer `first` up; v is zero
 * below layer `first` (its entries there are not read). Every entry of hv
 * is written. */
void tape_hvp(struct tape *t, const float *v, int first, float *hv, uint64_t *flops);

#endif
