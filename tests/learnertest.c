/* learnertest: the shared fixtures of learnertest.h. It holds no test of
 * its own and no reference beyond the forward pass both test files need;
 * references used by one file (class means, the head's Adam) stay there. */
#include "testutil.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#include "learners/optim.h"
#include "learnertest.h"

struct learner_env test_env(const struct mlp *pre, const struct mlp_arch *arch, int init)
{
    static float rates[1 << 14];
    struct learner_env env = {.pretrained = pre, .init = init};
    if (arch)
        env.arch = *arch;
    if (pre) {
        assert(pre->n_params <= sizeof rates / sizeof rates[0]);
        for (size_t i = 0; i < pre->n_params; i++)
            rates[i] = 0.05f;
        env.extra = rates, env.n_extra = pre->n_params;
    }
    return env;
}

/* ---- the recorder --------------------------------------------------- */

void capture_init(struct capture *cap, const struct fewshot *t)
{
    memset(cap, 0, sizeof *cap);
    cap->n_scores = (size_t)t->n_query * (size_t)t->out_dim;
    cap->xq = t->xq;
    cap->fq = t->fq;
    cap->n_query = t->n_query;
    assert_true(cap->n_scores <= MAX_SCORES);
}

int capture_record(void *arg, int step, struct learner_model *m)
{
    struct capture *cap = arg;
    struct err e;
    err_clear(&e);
    assert_true(cap->n < MAX_RECORDS);
    cap->step[cap->n] = step;
    cap->logits[cap->n] = model_logits(m);
    if (cap->fq)
        assert_int_equal(model_predict_features(m, cap->fq, cap->n_query, cap->scores[cap->n], &e),
                         0);
    else
        assert_int_equal(model_predict(m, cap->xq, cap->n_query, cap->scores[cap->n], &e), 0);
    cap->n++;
    return cap->stop_with;
}

struct learner *run_kept(const struct learner_settings *s, const struct fewshot *t,
                         struct fixture_ctx *c, struct capture *cap, struct learner_model **m)
{
    capture_init(cap, t);
    struct err e;
    err_clear(&e);
    struct learner_env env = test_env(c->pretrained, &c->arch, c->init);
    struct learner *l = learner_new(s, &env, t, &e);
    if (!l)
        fail_msg("learner_new: %s", e.msg);
    if (learner_adapt(l, t, &c->rng, capture_record, cap, m, &e))
        fail_msg("adapt: %s", e.msg);
    c->flops += learner_flops(l);
    return l;
}

double input_grad_vs(struct learner_model *m, const float *x, const int *y, int n, int dim,
                     double (*loss)(const void *arg, const double *x), const void *arg)
{
    float dx[MAX_ROWS * MAX_WIDTH];
    double xd[MAX_ROWS * MAX_WIDTH], worst = 0, largest = 0;
    struct err e;
    assert_true(n * dim <= MAX_ROWS * MAX_WIDTH);
    assert_int_equal(model_input_grad(m, x, y, NULL, n, dx, NULL, &e), 0);
    for (int j = 0; j < n * dim; j++)
        xd[j] = x[j];
    for (int j = 0; j < n * dim; j++) {
        const double h = 1e-6, keep = xd[j];
        xd[j] = keep + h;
        double up = loss(arg, xd);
        xd[j] = keep - h;
        double down = loss(arg, xd);
        xd[j] = keep;
        double fd = (up - down) / (2 * h);
        worst = fmax(worst, fabs(fd - dx[j]));
        largest = fmax(largest, fabs(fd));
    }
    assert_true(largest > 1e-3);   // a gradient worth comparing
    return worst / largest;
}

double ref_xent(const double *scores, const int *y, int n, int classes)
{
    double total = 0;
    for (int i = 0; i < n; i++) {
        const double *row = scores + (size_t)i * classes;
        double top = row[0], sum = 0;
        for (int c = 1; c < classes; c++)
            top = fmax(top, row[c]);
        for (int c = 0; c < classes; c++)
            sum += exp(row[c] - top);
        total += top + log(sum) - row[y[i]];
    }
    return total / n;
}

int run(const struct learner_settings *s, const struct fewshot *t, struct fixture_ctx *c,
        struct capture *cap)
{
    capture_init(cap, t);
    struct err e;
    err_clear(&e);
    struct learner_env env = test_env(c->pretrained, &c->arch, c->init);
    struct learner *l = learner_new(s, &env, t, &e);
    if (!l) {
        print_error("learner_new: %s\n", e.msg);
        return e.code;
    }
    struct learner_model *m = NULL;
    int rc = learner_adapt(l, t, &c->rng, capture_record, cap, &m, &e);
    c->flops += learner_flops(l);   /* adapting and recording, not the check below */
    if (rc && rc != cap->stop_with)
        print_error("adapt: %s\n", e.msg);
    if (!rc) {
        /* the model handed back is the one recorded last, and predict has no state */
        float again[MAX_SCORES];
        assert_non_null(m);
        assert_true(cap->n > 0);
        if (t->fq)
            assert_int_equal(model_predict_features(m, t->fq, t->n_query, again, &e), 0);
        else
            assert_int_equal(model_predict(m, t->xq, t->n_query, again, &e), 0);
        assert_memory_equal(again, cap->scores[cap->n - 1], sizeof(float) * cap->n_scores);
    }
    learner_free(l);
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
    /* PyTorch's W (out, in) into the arena's (in, out); b as it is */
    const float *src = params;
    for (int l = 0; l < a->n_layers; l++) {
        int nin = a->sizes[l], nout = a->sizes[l + 1];
        float *w = net->params + net->w_off[l], *b = net->params + net->b_off[l];
        for (int o = 0; o < nout; o++)
            for (int i = 0; i < nin; i++)
                w[i * nout + o] = *src++;
        for (int o = 0; o < nout; o++)
            b[o] = *src++;
    }
}

void net_formula(struct mlp *net, const struct mlp_arch *a, double salt)
{
    struct err e;
    err_clear(&e);
    assert_int_equal(mlp_init(net, a, &e), 0);
    for (size_t i = 0; i < net->n_params; i++)
        net->params[i] = (float)(0.7 * sin(1.37 * (double)i + salt));
}

/* In PyTorch's order, which net_with stores in the arena's: W0 (4 out, 3
 * in), b0 (4), W1 (2, 4), b1 (2). */
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
    double xd[MAX_ROWS * MAX_WIDTH];
    assert_true(n <= MAX_ROWS && net->arch.sizes[0] <= MAX_WIDTH);
    for (int i = 0; i < n * net->arch.sizes[0]; i++)
        xd[i] = x[i];
    return ref_forward_d(net, xd, n, upto, out);
}

double ref_forward_d(const struct mlp *net, const double *x, int n, int upto, double *out)
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
                    z += (double)w[k * nout + j] * cur[i * nin + k];
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

