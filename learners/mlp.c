/* mlp: dense layers over flat arenas — forward, backward, initialisation.
 *
 * Every product goes through gemm(); everything else is a plain loop whose
 * operation count is added to net->flops by the convention in mlp.h. The
 * workspace keeps each layer's pre- and post-activation so backward needs
 * nothing recomputed. Not here: losses, optimizers, checkpoints, threads
 * (one network and one workspace belong to one worker). */
#include "learners/mlp.h"

#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "harness/base/simd.h"
#include "learners/gemm.h"

/* Widest layer accepted: keeps every int product of a size with a batch
 * far from overflow and refuses a typo like 2560000 before it allocates. */
#define MLP_MAX_WIDTH (1 << 20)

/* ---- architecture ---------------------------------------------------- */

const char *const mlp_init_names[] = {"torch", "he", "glorot", "zero", NULL};

uint64_t mlp_forward_flops(const struct mlp_arch *a, int upto)
{
    uint64_t f = 0;
    for (int l = 0; l < upto; l++) {
        uint64_t in = (uint64_t)a->sizes[l], out = (uint64_t)a->sizes[l + 1];
        f += 2 * in * out + out + (l < a->n_layers - 1 && a->act != ACT_IDENTITY ? out : 0);
    }
    return f;
}

int mlp_arch_check(const struct mlp_arch *arch, struct err *e)
{
    if (arch->n_layers < 1 || arch->n_layers > MLP_MAX_LAYERS)
        return err_set(e, ERR_USAGE, "network: %d layers (expected 1 to %d)",
                       arch->n_layers, MLP_MAX_LAYERS);
    for (int l = 0; l <= arch->n_layers; l++)
        if (arch->sizes[l] < 1 || arch->sizes[l] > MLP_MAX_WIDTH)
            return err_set(e, ERR_USAGE, "network: size %d of layer boundary %d "
                           "(expected 1 to %d)", arch->sizes[l], l, MLP_MAX_WIDTH);
    if (arch->act != ACT_IDENTITY && arch->act != ACT_RELU && arch->act != ACT_TANH)
        return err_set(e, ERR_USAGE, "network: activation %d (expected identity, "
                       "relu or tanh)", (int)arch->act);
    return 0;
}

size_t mlp_arch_params(const struct mlp_arch *arch)
{
    size_t n = 0;
    for (int l = 0; l < arch->n_layers; l++)
        n += (size_t)arch->sizes[l + 1] * ((size_t)arch->sizes[l] + 1);
    return n;
}

/* ---- network --------------------------------------------------------- */

/* n floats from a 64-byte boundary (zeroed when zero): a cache line, so
 * that the products' vector loads of the first layer's weights (and of the
 * others' when their offsets fall on one, as in the shipped networks) and
 * of the workspaces' rows do not straddle lines (about 15 % of a
 * first-layer product on AVX-512). */
static float *arena(size_t n, bool zero)
{
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    float *p = aligned_alloc(64, bytes ? bytes : 64);
    if (p && zero)
        memset(p, 0, bytes);
    return p;
}

int mlp_init(struct mlp *net, const struct mlp_arch *arch, struct err *e)
{
    memset(net, 0, sizeof *net);
    int rc = mlp_arch_check(arch, e);
    if (rc)
        return rc;
    net->arch = *arch;
    size_t off = 0;
    for (int l = 0; l < arch->n_layers; l++) {
        net->w_off[l] = off;
        off += (size_t)arch->sizes[l + 1] * (size_t)arch->sizes[l];
        net->b_off[l] = off;
        off += (size_t)arch->sizes[l + 1];
    }
    net->n_params = off;
    net->params = arena(off, true);
    net->grads = arena(off, true);
    if (!net->params || !net->grads) {
        rc = err_set(e, ERR_NOMEM, "network: cannot allocate %zu parameters", off);
        goto fail;
    }
    return 0;
fail:
    mlp_free(net);
    return rc;
}

void mlp_free(struct mlp *net)
{
    if (!net)
        return;
    free(net->params);
    free(net->grads);
    net->params = NULL;
    net->grads = NULL;
    net->n_params = 0;
}

void mlp_copy_params(struct mlp *dst, const struct mlp *src)
{
    assert(dst->n_params == src->n_params);
    assert(dst->arch.n_layers == src->arch.n_layers);
    if (dst != src)
        memcpy(dst->params, src->params, sizeof *dst->params * src->n_params);
}

size_t mlp_body_size(const struct mlp *net)
{
    /* The head's W starts right after the last body parameter. */
    return net->w_off[net->arch.n_layers - 1];
}

void mlp_zero_grad(struct mlp *net)
{
    memset(net->grads, 0, sizeof *net->grads * net->n_params);
}

/* ---- initialisation -------------------------------------------------- */

/* w (in, out) ~ U[lo, hi), drawn output by output (see below). The draws
 * of up to OB outputs are buffered and written input row by input row, OB
 * neighbouring floats at a time, rather than one float per cache line. */
static void uniform_weights(float *w, int fan_in, int fan_out, double lo, double hi,
                            struct rng *r)
{
    enum { CAP = 16384, OB = 16 };
    float buf[CAP];
    int ob = fan_in >= CAP ? 1 : CAP / fan_in;   /* outputs per pass */
    int chunk = ob == 1 ? CAP : fan_in;          /* one output's draws per fill */
    if (ob > OB)
        ob = OB;
    for (int o0 = 0; o0 < fan_out; o0 += ob) {
        int nb = fan_out - o0 < ob ? fan_out - o0 : ob;
        for (int i0 = 0; i0 < fan_in; i0 += chunk) {
            int m = fan_in - i0 < chunk ? fan_in - i0 : chunk;
            for (int k = 0; k < nb; k++)   /* in draw order: output o0+k's inputs */
                rng_range_fill(r, lo, hi, buf + (size_t)k * chunk, (size_t)m);
            for (int i = 0; i < m; i++) {
                float *row = w + (size_t)(i0 + i) * fan_out + o0;
                for (int k = 0; k < nb; k++)
                    row[k] = buf[(size_t)k * chunk + i];
            }
        }
    }
}

/* Draw order (part of the reproducibility contract): W output by output,
 * each output's inputs in order (PyTorch's (out, in) row-major order, which
 * the arena holds transposed), then b; kinds that set b to 0 draw nothing
 * for it, INIT_ZERO draws nothing. */
void mlp_init_layer(struct mlp *net, int layer, enum init_kind kind, struct rng *r)
{
    assert(layer >= 0 && layer < net->arch.n_layers);
    int fan_in = net->arch.sizes[layer], fan_out = net->arch.sizes[layer + 1];
    size_t nw = (size_t)fan_in * (size_t)fan_out;
    float *w = net->params + net->w_off[layer];   // (in, out)
    float *b = net->params + net->b_off[layer];   // (out)
    double torch = 1.0 / sqrt((double)fan_in);
    double he = sqrt(2.0 / fan_in);
    double glorot = sqrt(6.0 / (fan_in + fan_out));
    memset(b, 0, sizeof *b * (size_t)fan_out);
#define EACH_WEIGHT(value) \
    for (int o = 0; o < fan_out; o++) \
        for (int i = 0; i < fan_in; i++) \
            w[(size_t)i * fan_out + o] = (float)(value)
    switch (kind) {
    case INIT_TORCH:
        uniform_weights(w, fan_in, fan_out, -torch, torch, r);
        rng_range_fill(r, -torch, torch, b, (size_t)fan_out);
        break;
    case INIT_HE:
        EACH_WEIGHT(he * rng_normal(r));
        break;
    case INIT_GLOROT:
        uniform_weights(w, fan_in, fan_out, -glorot, glorot, r);
        break;
    case INIT_ZERO:
        memset(w, 0, sizeof *w * nw);
        break;
    default:
        assert(!"unknown init kind");
    }
#undef EACH_WEIGHT
}

void mlp_init_params(struct mlp *net, enum init_kind kind, struct rng *r)
{
    for (int l = 0; l < net->arch.n_layers; l++)
        mlp_init_layer(net, l, kind, r);
}

/* ---- workspace ------------------------------------------------------- */

/* h[l] aliases z[l] when layer l's output is not transformed (the head, or
 * any layer under ACT_IDENTITY): nothing is copied and nothing freed twice. */
static bool layer_is_linear(const struct mlp_arch *arch, int l)
{
    return l == arch->n_layers - 1 || arch->act == ACT_IDENTITY;
}

/* Rows of a transposed operand in the backward scratch: a batch rounded up
 * to a cache line of floats, so that each of its rows starts on one. */
static int padded(int batch)
{
    return (batch + 15) & ~15;
}

int mlp_work_init(struct mlp_work *w, const struct mlp_arch *arch, int cap, struct err *e)
{
    memset(w, 0, sizeof *w);
    int rc = mlp_arch_check(arch, e);
    if (rc)
        return rc;
    if (cap < 1)
        return err_set(e, ERR_USAGE, "network: batch capacity %d (expected at least 1)",
                       cap);
    w->cap = cap;
    int widest = 0;
    for (int l = 0; l <= arch->n_layers; l++)
        widest = arch->sizes[l] > widest ? arch->sizes[l] : widest;
    for (int l = 0; l < arch->n_layers; l++) {
        size_t n = (size_t)cap * (size_t)arch->sizes[l + 1];
        w->z[l] = arena(n, false);
        w->h[l] = layer_is_linear(arch, l) ? w->z[l] : arena(n, false);
        if (!w->z[l] || !w->h[l])
            goto nomem;
    }
    for (int i = 0; i < 2; i++)
        if (!(w->d[i] = arena((size_t)padded(cap) * (size_t)widest, false)))
            goto nomem;
    return 0;
nomem:
    rc = err_set(e, ERR_NOMEM, "network: cannot allocate the workspace for %d rows", cap);
    mlp_work_free(w);
    return rc;
}

void mlp_work_free(struct mlp_work *w)
{
    if (!w)
        return;
    for (int l = 0; l < MLP_MAX_LAYERS; l++) {
        if (w->h[l] != w->z[l])
            free(w->h[l]);
        free(w->z[l]);
        w->h[l] = w->z[l] = NULL;
    }
    for (int i = 0; i < 2; i++) {
        free(w->d[i]);
        w->d[i] = NULL;
    }
    w->cap = w->batch = w->upto = 0;
    w->x = NULL;
}

/* ---- forward --------------------------------------------------------- */

/* z (batch, out) += b per row; with h (not z's buffer), also h = ReLU(z)
 * in the same pass — the operations of adding, then rectifying, in turn.
 * ReLU is written so that NaN passes through (a diverged run must not look
 * healthy). For the CPU's widest vector units (simd.h). */
KSHOT_CLONES static void add_bias(float *restrict z, float *restrict h, const float *restrict b,
                                  int batch, int out)
{
    for (int i = 0; i < batch; i++) {
        float *restrict zi = z + (size_t)i * out;
        if (!h) {
            for (int j = 0; j < out; j++)
                zi[j] += b[j];
            continue;
        }
        float *restrict hi = h + (size_t)i * out;
        for (int j = 0; j < out; j++) {
            const float v = zi[j] + b[j];
            zi[j] = v;
            hi[j] = v < 0.0f ? 0.0f : v;
        }
    }
}

/* z (batch, out) = in (batch, in)·W + b, then h = act(z) unless linear. */
static void layer_forward(struct mlp *net, struct mlp_work *w, int l,
                          const float *in, int batch)
{
    int nin = net->arch.sizes[l], out = net->arch.sizes[l + 1];
    const float *wt = net->params + net->w_off[l];  // (in, out)
    const float *b = net->params + net->b_off[l];   // (out)
    float *z = w->z[l];                             // (batch, out)
    const bool linear = layer_is_linear(&net->arch, l), relu = net->arch.act == ACT_RELU;
    gemm(false, false, batch, out, nin, 1.0f, in, nin, wt, out, 0.0f, z, out, &net->flops);
    add_bias(z, !linear && relu ? w->h[l] : NULL, b, batch, out);
    size_t n = (size_t)batch * (size_t)out;
    net->flops += n;
    if (!linear && !relu)   /* tanh */
        for (size_t i = 0; i < n; i++)
            w->h[l][i] = tanhf(z[i]);
    if (!linear)
        net->flops += n;
}

const float *mlp_forward(struct mlp *net, struct mlp_work *w, const float *x,
                         int batch, int upto)
{
    assert(batch >= 0 && batch <= w->cap);
    assert(upto >= 1 && upto <= net->arch.n_layers);
    w->x = x;
    w->batch = batch;
    w->upto = upto;
    const float *in = x;  // (batch, sizes[l])
    for (int l = 0; l < upto; l++) {
        layer_forward(net, w, l, in, batch);
        in = w->h[l];
    }
    return in;
}

/* ---- backward -------------------------------------------------------- */

/* g ← g ⊙ act'(z) in place, from the stored z (ReLU: 1 where z > 0, so 0 at
 * the kink) or h (tanh: 1 − h²), compiled for the vector units as add_bias. */
KSHOT_CLONES static void act_backward(enum act act, const float *restrict z,
                                      const float *restrict h, float *restrict g, size_t n)
{
    if (act == ACT_RELU)
        for (size_t i = 0; i < n; i++)
            g[i] = z[i] > 0.0f ? g[i] : 0.0f;
    else if (act == ACT_TANH)
        for (size_t i = 0; i < n; i++)
            g[i] *= 1.0f - h[i] * h[i];
}

/* dW (in, out) = h_{l−1}ᵀ·dz; db (out) = Σ_rows dz, rows in order. */
static void layer_grads(struct mlp *net, const struct mlp_work *w, int l, const float *dz)
{
    int nin = net->arch.sizes[l], out = net->arch.sizes[l + 1], batch = w->batch;
    const float *in = l == 0 ? w->x : w->h[l - 1];  // (batch, in)
    float *gw = net->grads + net->w_off[l];         // (in, out)
    float *gb = net->grads + net->b_off[l];         // (out)
    gemm(true, false, nin, out, batch, 1.0f, in, nin, dz, out, 0.0f, gw, out, &net->flops);
    memset(gb, 0, sizeof *gb * (size_t)out);
    for (int i = 0; i < batch; i++)
        for (int j = 0; j < out; j++)
            gb[j] += dz[(size_t)i * out + j];
    net->flops += (uint64_t)batch * (uint64_t)out;
}

/* dst (batch, in) = dz (batch, out)·Wᵀ, computed as (W·dzᵀ)ᵀ: libxsmm has
 * no kernel for a transposed second operand, and on these shapes its
 * product with the two small transposes takes about half of OpenBLAS's
 * time (with rows of padded(batch) floats, a further 6 % less). dz is in
 * scratch d[1 − next] (or the caller's); dzᵀ goes to d[next], the product
 * to d[1 − next] (dz is no longer needed), and the result to dst, which
 * may be d[next] (dzᵀ is no longer needed). */
static void input_product(struct mlp_work *w, const float *dz, int batch, int in, int out,
                          const float *wt, int next, float *dst, uint64_t *flops)
{
    float *dzt = w->d[next], *prod = w->d[1 - next];   /* (out, ld), (in, ld) */
    const int ld = padded(batch);
    gemm_transpose(dz, batch, out, out, dzt, ld);
    gemm(false, false, in, batch, out, 1.0f, wt, out, dzt, ld, 0.0f, prod, ld, flops);
    gemm_transpose(prod, in, batch, ld, dst, in);
}

void mlp_backward(struct mlp *net, struct mlp_work *w, const float *dout,
                  int first_layer, float *dx)
{
    int top = w->upto, batch = w->batch;
    assert(top >= 1 && top <= net->arch.n_layers);
    assert(first_layer >= 0 && first_layer <= top);
    int lowest = dx ? 0 : first_layer;  // deepest layer delta must reach
    /* g is dLoss/d(output of layer l); slot says which scratch holds it
     * (−1: still the caller's dout, which is never written). */
    const float *g = dout;
    int slot = -1;
    for (int l = top - 1; l >= lowest; l--) {
        int nin = net->arch.sizes[l], out = net->arch.sizes[l + 1];
        size_t n = (size_t)batch * (size_t)out;
        if (!layer_is_linear(&net->arch, l)) {
            if (slot < 0) {
                slot = 0;
                memcpy(w->d[0], g, sizeof *g * n);
            }
            float *dz = w->d[slot];  // (batch, out)
            act_backward(net->arch.act, w->z[l], w->h[l], dz, n);
            net->flops += n;
            g = dz;
        }
        if (l >= first_layer)
            layer_grads(net, w, l, g);
        if (l > lowest || dx) {  /* a layer below learns, or dx is wanted */
            /* dLoss/dh_{l−1} (batch, in) = dz (batch, out)·Wᵀ, W (in, out). */
            int next = slot == 0 ? 1 : 0;
            const float *wl = net->params + net->w_off[l];
            float *dst = l == 0 ? dx : w->d[next];
            /* A product whose result reaches no weight gradient (l ≤
             * first_layer: it serves only dx, as in an attack) goes to
             * libxsmm. One that does stays on OpenBLAS, whether dx is
             * wanted or not, so a weight gradient's bits never depend on
             * dx: on libxsmm training's hidden products measured 1.11× for
             * finetune and 1.08× for scratch, but their sums round
             * differently, which over a long training moves every trained
             * number. */
            if (l <= first_layer && gemm_uses_xsmm(false, false, nin, batch, out, 1.0f, 0.0f))
                input_product(w, g, batch, nin, out, wl, next, dst, &net->flops);
            else
                gemm(false, true, batch, nin, out, 1.0f, g, out, wl, out, 0.0f, dst, nin,
                     &net->flops);
            g = dst;
            slot = next;
        }
    }
}
