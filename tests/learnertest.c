/* learnertest: the shared fixtures of learnertest.h. It holds no test of
 * its own and no reference beyond the forward pass both test files need;
 * references used by one file (class means, the head's Adam) stay there. */
#include "testutil.h"

#include <math.h>
#include <string.h>

#include "learners/optim.h"
#include "learnertest.h"

/* ---- the recorder --------------------------------------------------- */

int capture_record(void *arg, int step, const float *scores, bool logits)
{
    struct capture *cap = arg;
    assert_true(cap->n < MAX_RECORDS);
    cap->step[cap->n] = step;
    cap->logits[cap->n] = logits;
    memcpy(cap->scores[cap->n], scores, sizeof *scores * cap->n_scores);
    cap->n++;
    return cap->stop_with;
}

int run(const struct learner_settings *s, const struct fewshot *t, struct learner_ctx *c,
        struct capture *cap)
{
    memset(cap, 0, sizeof *cap);
    cap->n_scores = (size_t)t->n_query * (size_t)t->out_dim;
    assert_true(cap->n_scores <= MAX_SCORES);
    struct err e;
    err_clear(&e);
    int rc = learner_kinds[s->kind].adapt(s, t, c, capture_record, cap, &e);
    if (rc && rc != cap->stop_with)
        print_error("adapt: %s\n", e.msg);
    return rc;
}

/* ---- settings and networks ------------------------------------------ */

struct learner_settings settings(const char *kind)
{
    struct learner_settings s;
    memset(&s, 0, sizeof s);
    s.kind = learner_find(kind);
    assert_true(s.kind >= 0);
    optim_defaults(&s.optim);
    s.steps = 20;
    s.freeze = FREEZE_NONE;
    s.head = INIT_ZERO;
    s.distance = DIST_EUCLIDEAN;
    s.k = 1;
    s.space = SPACE_FEATURES;
    return s;
}

void net_with(struct mlp *net, const struct mlp_arch *a, const float *params, size_t n)
{
    struct err e;
    err_clear(&e);
    assert_int_equal(mlp_init(net, a, &e), 0);
    assert_int_equal(net->n_params, n);
    memcpy(net->params, params, sizeof *params * n);
}

void net_formula(struct mlp *net, const struct mlp_arch *a, double salt)
{
    struct err e;
    err_clear(&e);
    assert_int_equal(mlp_init(net, a, &e), 0);
    for (size_t i = 0; i < net->n_params; i++)
        net->params[i] = (float)(0.7 * sin(1.37 * (double)i + salt));
}

/* Layout W0 (4, 3), b0 (4), W1 (2, 4), b1 (2), as mlp.h documents. */
const struct mlp_arch small_arch = {2, {3, 4, 2}, ACT_RELU};
static const float small_params[] = {
    0.5f, -0.3f, 0.8f,   -0.6f, 0.9f, 0.1f,   0.2f, 0.4f, -0.7f,   0.7f, 0.1f, 0.3f,
    0.1f, -0.2f, 0.05f, 0.0f,
    0.3f, -0.1f, 0.2f, 0.4f,   -0.5f, 0.6f, 0.1f, -0.2f,
    0.01f, -0.02f,
};

static const float small_xs[5 * 3] = {
    1.0f, 0.2f, 0.3f,
    -0.4f, 1.1f, 0.2f,   -0.2f, 0.8f, 0.6f,
    0.3f, -0.5f, -1.2f,  0.9f, 0.4f, -0.8f,
};
static const int small_ys[5] = {0, 1, 1, 2, 2};
const float small_xq[4 * 3] = {
    0.8f, 0.1f, 0.5f,   -0.3f, 0.9f, 0.6f,   0.6f, -0.2f, -1.0f,   0.1f, 0.5f, 0.2f,
};

void small_net(struct mlp *net)
{
    net_with(net, &small_arch, small_params, sizeof small_params / sizeof *small_params);
}

struct fewshot small_task(void)
{
    return (struct fewshot){.ways = 3, .out_dim = 3, .dim = 3, .n_support = 5, .n_query = 4,
                            .xs = small_xs, .ys = small_ys, .xq = small_xq};
}

void snap(struct snapshot *sn, const struct mlp *net)
{
    assert_true(net->n_params <= 512);
    sn->n = net->n_params;
    memcpy(sn->p, net->params, sizeof *sn->p * sn->n);
    sn->flops = net->flops;
}

void assert_unchanged(const struct snapshot *sn, const struct mlp *net)
{
    assert_int_equal(net->n_params, sn->n);
    assert_memory_equal(net->params, sn->p, sizeof *sn->p * sn->n);
    assert_true(net->flops == sn->flops);
}

struct fewshot small_fixture(struct mlp *net, struct snapshot *before)
{
    small_net(net);
    snap(before, net);
    return small_task();
}

/* ---- independent references ----------------------------------------- */

double ref_forward(const struct mlp *net, const float *x, int n, int upto, double *out)
{
    const struct mlp_arch *a = &net->arch;
    double cur[MAX_ROWS * MAX_WIDTH], nxt[MAX_ROWS * MAX_WIDTH], margin = INFINITY;
    assert_true(n <= MAX_ROWS);
    for (int i = 0; i < n * a->sizes[0]; i++)
        cur[i] = x[i];
    const float *p = net->params;
    for (int l = 0; l < upto; l++) {
        int nin = a->sizes[l], nout = a->sizes[l + 1];
        assert_true(nout <= MAX_WIDTH);
        const float *w = p, *b = p + nin * nout;
        bool hidden = l < a->n_layers - 1 && a->act != ACT_IDENTITY;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < nout; j++) {
                double z = b[j];
                for (int k = 0; k < nin; k++)
                    z += (double)w[j * nin + k] * cur[i * nin + k];
                if (hidden) {
                    margin = fmin(margin, fabs(z));
                    z = a->act == ACT_RELU ? fmax(z, 0.0) : tanh(z);
                }
                nxt[i * nout + j] = z;
            }
        memcpy(cur, nxt, sizeof(double) * (size_t)(n * nout));
        p += nin * nout + nout;
    }
    memcpy(out, cur, sizeof(double) * (size_t)(n * a->sizes[upto]));
    return margin;
}

