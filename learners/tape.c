/* tape: a kept forward/backward pass and exact Hessian-vector products. */
#include "learners/tape.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "learners/gemm.h"
#include "learners/loss.h"

/* The head, and every layer under ACT_IDENTITY, is linear: h is z. */
static bool linear(const struct mlp_arch *a, int l)
{
    return l == a->n_layers - 1 || a->act == ACT_IDENTITY;
}

int tape_init(struct tape *t, const struct mlp_arch *arch, int cap, struct err *e)
{
    memset(t, 0, sizeof *t);
    int rc = mlp_arch_check(arch, e);
    if (rc)
        return rc;
    if (cap < 1)
        return err_set(e, ERR_USAGE, "tape: batch capacity %d (expected at least 1)", cap);
    t->arch = *arch;
    t->cap = cap;
    size_t off = 0;
    int widest = 0;
    for (int l = 0; l < arch->n_layers; l++) {
        t->w_off[l] = off;
        off += (size_t)arch->sizes[l] * (size_t)arch->sizes[l + 1];
        t->b_off[l] = off;
        off += (size_t)arch->sizes[l + 1];
    }
    t->n_params = off;
    for (int l = 0; l <= arch->n_layers; l++)
        widest = arch->sizes[l] > widest ? arch->sizes[l] : widest;
    for (int l = 0; l < arch->n_layers; l++) {
        size_t n = (size_t)cap * (size_t)arch->sizes[l + 1];
        t->z[l] = malloc(sizeof(float) * n);
        t->dz[l] = malloc(sizeof(float) * n);
        t->rz[l] = malloc(sizeof(float) * n);
        t->h[l] = linear(arch, l) ? t->z[l] : malloc(sizeof(float) * n);
        t->rh[l] = linear(arch, l) ? t->rz[l] : malloc(sizeof(float) * n);
        if (!t->z[l] || !t->dz[l] || !t->rz[l] || !t->h[l] || !t->rh[l])
            goto nomem;
    }
    t->s = malloc(sizeof(float) * (size_t)cap * (size_t)arch->sizes[arch->n_layers]);
    t->rd[0] = malloc(sizeof(float) * (size_t)cap * (size_t)widest);
    t->rd[1] = malloc(sizeof(float) * (size_t)cap * (size_t)widest);
    if (!t->s || !t->rd[0] || !t->rd[1])
        goto nomem;
    return ERR_OK;
nomem:
    tape_free(t);
    return err_set(e, ERR_NOMEM, "tape: cannot allocate the workspace for %d rows", cap);
}

void tape_free(struct tape *t)
{
    if (!t)
        return;
    for (int l = 0; l < MLP_MAX_LAYERS; l++) {
        if (t->h[l] != t->z[l])
            free(t->h[l]);
        if (t->rh[l] != t->rz[l])
            free(t->rh[l]);
        free(t->z[l]), free(t->dz[l]), free(t->rz[l]);
    }
    free(t->s), free(t->rd[0]), free(t->rd[1]);
    memset(t, 0, sizeof *t);
}

/* ---- forward and backward ---- */

const float *tape_forward(struct tape *t, const float *p, const float *x, int batch,
                          uint64_t *flops)
{
    const struct mlp_arch *a = &t->arch;
    assert(batch >= 1 && batch <= t->cap);
    t->x = x, t->p = p, t->batch = batch;
    const float *in = x;   // (batch, sizes[l])
    for (int l = 0; l < a->n_layers; l++) {
        const int nin = a->sizes[l], out = a->sizes[l + 1];
        const float *b = p + t->b_off[l];
        float *z = t->z[l];   // (batch, out)
        gemm(false, false, batch, out, nin, 1.0f, in, nin, p + t->w_off[l], out, 0.0f, z, out,
             flops);
        for (int i = 0; i < batch; i++)
            for (int j = 0; j < out; j++)
                z[(size_t)i * out + j] += b[j];
        size_t n = (size_t)batch * (size_t)out;
        *flops += n;
        if (!linear(a, l)) {
            float *h = t->h[l];
            if (a->act == ACT_RELU)
                for (size_t i = 0; i < n; i++)
                    h[i] = z[i] < 0.0f ? 0.0f : z[i];
            else
                for (size_t i = 0; i < n; i++)
                    h[i] = tanhf(z[i]);
            *flops += n;
        }
        in = t->h[l];
    }
    return in;
}

/* g ← g ⊙ σ'(z) for hidden layer l (ReLU: 1 where z > 0; tanh: 1 − h²). */
static void act_grad(const struct tape *t, int l, float *g, size_t n)
{
    const float *z = t->z[l], *h = t->h[l];
    if (t->arch.act == ACT_RELU)
        for (size_t i = 0; i < n; i++)
            g[i] = z[i] > 0.0f ? g[i] : 0.0f;
    else
        for (size_t i = 0; i < n; i++)
            g[i] *= 1.0f - h[i] * h[i];
}

double tape_backward(struct tape *t, int ways, const int *y, const float *tg, int first,
                     float *grads, int *correct, uint64_t *flops)
{
    const struct mlp_arch *a = &t->arch;
    const int top = a->n_layers - 1, batch = t->batch, out = a->sizes[a->n_layers];
    assert(first >= 0 && first <= top);
    double loss;
    t->ways = ways;
    if (ways > 0) {
        loss = loss_xent(t->z[top], y, batch, ways, t->dz[top], correct, flops);
        /* softmax, for the Hessian: s = B·δ + onehot */
        for (int i = 0; i < batch; i++)
            for (int j = 0; j < out; j++)
                t->s[(size_t)i * out + j] =
                    (float)batch * t->dz[top][(size_t)i * out + j] + (j == y[i] ? 1.0f : 0.0f);
        *flops += (uint64_t)batch * (uint64_t)out;
    } else {
        loss = loss_mse(t->z[top], tg, batch, out, t->dz[top], flops);
    }
    for (int l = top; l >= first; l--) {
        const int nin = a->sizes[l], nout = a->sizes[l + 1];
        const float *in = l == 0 ? t->x : t->h[l - 1];   // (batch, nin)
        const float *dz = t->dz[l];                       // (batch, nout)
        float *gb = grads + t->b_off[l];
        gemm(true, false, nin, nout, batch, 1.0f, in, nin, dz, nout, 0.0f, grads + t->w_off[l],
             nout, flops);
        memset(gb, 0, sizeof *gb * (size_t)nout);
        for (int i = 0; i < batch; i++)
            for (int j = 0; j < nout; j++)
                gb[j] += dz[(size_t)i * nout + j];
        *flops += (uint64_t)batch * (uint64_t)nout;
        if (l > first) {
            float *below = t->dz[l - 1];   // (batch, nin)
            gemm(false, true, batch, nin, nout, 1.0f, dz, nout, t->p + t->w_off[l], nout, 0.0f,
                 below, nin, flops);
            if (!linear(a, l - 1)) {
                act_grad(t, l - 1, below, (size_t)batch * (size_t)nin);
                *flops += (uint64_t)batch * (uint64_t)nin;
            }
        }
    }
    return loss;
}

/* ---- Hessian-vector products ---- */

void tape_hvp(struct tape *t, const float *v, int first, float *hv, uint64_t *flops)
{
    const struct mlp_arch *a = &t->arch;
    const int top = a->n_layers - 1, batch = t->batch, out = a->sizes[a->n_layers];
    const float *p = t->p;
    assert(first >= 0 && first <= top);
    /* R-forward: R(z) and R(h) are zero below `first` */
    for (int l = first; l <= top; l++) {
        const int nin = a->sizes[l], nout = a->sizes[l + 1];
        const float *in = l == 0 ? t->x : t->h[l - 1];
        const float *vb = v + t->b_off[l];
        float *rz = t->rz[l];   // (batch, nout)
        gemm(false, false, batch, nout, nin, 1.0f, in, nin, v + t->w_off[l], nout, 0.0f, rz,
             nout, flops);
        if (l > first)
            gemm(false, false, batch, nout, nin, 1.0f, t->rh[l - 1], nin, p + t->w_off[l], nout,
                 1.0f, rz, nout, flops);
        for (int i = 0; i < batch; i++)
            for (int j = 0; j < nout; j++)
                rz[(size_t)i * nout + j] += vb[j];
        size_t n = (size_t)batch * (size_t)nout;
        *flops += n;
        if (!linear(a, l)) {
            memcpy(t->rh[l], rz, sizeof *rz * n);
            act_grad(t, l, t->rh[l], n);
            *flops += n;
        }
    }
    /* R of the loss gradient at the outputs */
    float *rd = t->rd[0];   // (batch, out)
    const float *ro = t->rz[top];
    if (t->ways > 0) {
        for (int i = 0; i < batch; i++) {
            const float *s = t->s + (size_t)i * out, *r = ro + (size_t)i * out;
            double dot = 0;
            for (int j = 0; j < out; j++)
                dot += (double)s[j] * r[j];
            for (int j = 0; j < out; j++)
                rd[(size_t)i * out + j] = (float)(((double)s[j] * r[j] - s[j] * dot) / batch);
        }
        *flops += 4 * (uint64_t)batch * (uint64_t)out;
    } else {
        const float scale = 2.0f / ((float)batch * (float)out);
        for (size_t i = 0; i < (size_t)batch * out; i++)
            rd[i] = scale * ro[i];
        *flops += (uint64_t)batch * (uint64_t)out;
    }
    /* R-backward: rd holds R(δ_l) */
    int slot = 0;
    for (int l = top; l >= 0; l--) {
        const int nin = a->sizes[l], nout = a->sizes[l + 1];
        const float *in = l == 0 ? t->x : t->h[l - 1];
        float *hb = hv + t->b_off[l];
        gemm(true, false, nin, nout, batch, 1.0f, in, nin, rd, nout, 0.0f, hv + t->w_off[l],
             nout, flops);
        if (l > first)
            gemm(true, false, nin, nout, batch, 1.0f, t->rh[l - 1], nin, t->dz[l], nout, 1.0f,
                 hv + t->w_off[l], nout, flops);
        memset(hb, 0, sizeof *hb * (size_t)nout);
        for (int i = 0; i < batch; i++)
            for (int j = 0; j < nout; j++)
                hb[j] += rd[(size_t)i * nout + j];
        *flops += (uint64_t)batch * (uint64_t)nout;
        if (l == 0)
            break;
        float *below = t->rd[1 - slot];   // (batch, nin)
        gemm(false, true, batch, nin, nout, 1.0f, rd, nout, p + t->w_off[l], nout, 0.0f, below,
             nin, flops);
        if (l >= first)
            gemm(false, true, batch, nin, nout, 1.0f, t->dz[l], nout, v + t->w_off[l], nout, 1.0f,
                 below, nin, flops);
        if (!linear(a, l - 1)) {
            size_t n = (size_t)batch * (size_t)nin;
            act_grad(t, l - 1, below, n);
            *flops += n;
            if (a->act == ACT_TANH && l - 1 >= first) {
                const float *h = t->h[l - 1], *d = t->dz[l - 1], *r = t->rz[l - 1];
                for (size_t i = 0; i < n; i++)
                    below[i] -= 2.0f * h[i] * d[i] * r[i];
                *flops += 4 * (uint64_t)n;
            }
        }
        rd = below;
        slot = 1 - slot;
    }
}
