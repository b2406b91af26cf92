/* mlp: the network engine — a stack of dense layers over flat arenas.
 *
 * Parameters live in one arena, layer by layer: W0 (in, out) row-major — row
 * i holds input i's weights to every output, the transpose of PyTorch's
 * nn.Linear weight — then b0 (out), then W1, b1, … The body (every layer but
 * the last) is therefore a prefix of the arena: reusing a pretrained body
 * under a new head is one memcpy of mlp_body_size() floats. W is stored so
 * because the two large products of a training step, the forward X·W and
 * the weight gradient Xᵀ·dZ, then take their operands as they lie, which
 * the fast small-product kernels need (gemm.h). Gradients have
 * the same layout in their own arena; backward writes the layers it
 * reaches (the weight gradient straight from its product, β = 0), so a
 * training step zeroes nothing. Hidden layers use arch.act; the
 * last layer (the head) is linear. Every floating-point operation is added
 * to net->flops: 2·m·n·k per product, one per element for bias adds and
 * activations (forward) and for their derivatives (backward).
 *
 * FLOP convention, exactly as counted (B = batch, layer l maps in → out):
 *   forward, per layer run:  2·B·in·out (product) + B·out (bias add)
 *                            + B·out if the layer is hidden and act is relu
 *                              or tanh (ACT_IDENTITY and the head cost 0)
 *   backward, per layer visited, top down:
 *     B·out   activation derivative (same rule as the activation above)
 *     2·out·in·B + B·out  dW and db, only for layers ≥ first_layer
 *     2·B·out·in  propagation to the layer below, only when something
 *                 below still needs it (a layer ≥ first_layer, or dx)
 *   A layer is visited when it is ≥ first_layer, or always when dx is
 *   requested. tanh counts as one operation, like ReLU.
 *
 * Initialisation draws from the struct rng given, layer by layer, W in
 * PyTorch's order (output by output, each output's inputs in order) then b;
 * kinds whose b is 0 draw nothing for b, INIT_ZERO draws nothing. The same
 * stream therefore always gives the same parameters.
 * Workspace: h[l] is the same buffer as z[l] when layer l is linear (the
 * head, or every layer under ACT_IDENTITY).
 * Not here: losses (loss.h), optimizers (optim.h), files (ckpt.h). */
#ifndef KSHOT_MLP_H
#define KSHOT_MLP_H

#include <stddef.h>
#include <stdint.h>

#include "harness/base/err.h"
#include "harness/base/rng.h"

#define MLP_MAX_LAYERS 8

enum act { ACT_IDENTITY = 0, ACT_RELU = 1, ACT_TANH = 2 };

enum init_kind {
    INIT_TORCH = 0,  /* W and b ~ U(±1/√fan_in): PyTorch nn.Linear's default */
    INIT_HE = 1,     /* W ~ N(0, 2/fan_in), b = 0 */
    INIT_GLOROT = 2, /* W ~ U(±√(6/(fan_in+fan_out))), b = 0 */
    INIT_ZERO = 3,   /* W = 0, b = 0 (e.g. a new few-shot head) */
};

extern const char *const mlp_init_names[];   /* by enum init_kind, NULL-terminated */

struct mlp_arch {
    int n_layers;                   /* dense layers, 1..MLP_MAX_LAYERS; the last is the head */
    int sizes[MLP_MAX_LAYERS + 1];  /* sizes[0] inputs … sizes[n_layers] outputs */
    enum act act;                   /* after every layer but the head */
};

struct mlp {
    struct mlp_arch arch;
    size_t n_params;                /* floats in each arena */
    float *params;                  /* (n_params) */
    float *grads;                   /* (n_params) */
    size_t w_off[MLP_MAX_LAYERS];   /* offset of layer l's W in the arenas */
    size_t b_off[MLP_MAX_LAYERS];   /* offset of layer l's b */
    uint64_t flops;                 /* operations performed so far */
};

/* Batch workspace: activations kept for backward. Sized for up to cap rows. */
struct mlp_work {
    int cap;                        /* largest batch */
    const float *x;                 /* (batch, sizes[0]) input of the last forward, not owned */
    int batch;                      /* rows in the last forward */
    int upto;                       /* layers the last forward ran through */
    float *z[MLP_MAX_LAYERS];       /* (cap, sizes[l+1]) pre-activations */
    float *h[MLP_MAX_LAYERS];       /* (cap, sizes[l+1]) post-activations */
    float *d[2];                    /* (cap rounded up to 16, max size) backward scratch */
};

/* Operations of one example's forward through layers 0..upto-1, by the
 * convention above. */
uint64_t mlp_forward_flops(const struct mlp_arch *arch, int upto);

/* Check an architecture; ERR_USAGE with a message when it is not valid. */
int mlp_arch_check(const struct mlp_arch *arch, struct err *e);
/* Parameters an architecture has. */
size_t mlp_arch_params(const struct mlp_arch *arch);

/* Allocate a network (parameters zero) for arch; mlp_free(NULL-initialised) is safe. */
int mlp_init(struct mlp *net, const struct mlp_arch *arch, struct err *e);
void mlp_free(struct mlp *net);
/* Copy parameters (same architecture) src → dst; flops are not copied. */
void mlp_copy_params(struct mlp *dst, const struct mlp *src);
/* Floats in the body (every layer but the head): a prefix of the arena. */
size_t mlp_body_size(const struct mlp *net);

/* Initialise every layer, or one layer, from r. */
void mlp_init_params(struct mlp *net, enum init_kind kind, struct rng *r);
void mlp_init_layer(struct mlp *net, int layer, enum init_kind kind, struct rng *r);

void mlp_zero_grad(struct mlp *net);

int mlp_work_init(struct mlp_work *w, const struct mlp_arch *arch, int cap, struct err *e);
void mlp_work_free(struct mlp_work *w);

/* Forward x (batch, sizes[0]) through layers 0..upto-1 (upto = n_layers for
 * the outputs, n_layers-1 for the body's features). Returns the last
 * computed activation (batch, sizes[upto]), owned by w. batch ≤ w->cap. */
const float *mlp_forward(struct mlp *net, struct mlp_work *w, const float *x,
                         int batch, int upto);

/* Backward from dout (batch, sizes[upto]) = dLoss/d(output of the last
 * forward). Writes the parameter gradients of the layers that forward ran
 * through into net->grads (whatever they held: no zeroing is needed),
 * except layers below first_layer (frozen layers need no gradient and keep
 * what their gradients held; pass 0 for all). If dx is not NULL it
 * receives dLoss/dx (batch, sizes[0]) — this forces propagation to layer 0.
 * The weight gradients' bits do not depend on dx; dx's bits may depend on
 * first_layer (the products of layers below it take a faster kernel whose
 * sums round differently: an attack passes first_layer = upto). */
void mlp_backward(struct mlp *net, struct mlp_work *w, const float *dout,
                  int first_layer, float *dx);

#endif
