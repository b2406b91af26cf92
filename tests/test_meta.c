/* test_meta: exact second-order meta-learning against references in double
 * precision written here.
 *
 * - tape_hvp (Pearlmutter's R-operator) equals central differences of the
 *   gradient, for ReLU and tanh networks, cross-entropy and MSE, with v
 *   everywhere or on the head alone;
 * - meta_task's meta-gradient for maml with one and two inner steps equals
 *   central differences of the post-adaptation query loss with respect to
 *   the initial parameters, and differs from fomaml's; anil's (the body
 *   through the head's steps) likewise; metasgd's rate gradient likewise;
 * - meta-training each meta-learner on sinusoids lowers the held-out
 *   post-adaptation loss of the initialisation it learns, through the
 *   registry's pretrain and the learner lifecycle, as the harness runs them.
 * The reference network, its gradient and its inner loop are plain loops in
 * double, independent of tape.c and gemm. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness/base/rng.h"
#include "harness/config.h"
#include "learners/metalearn.h"
#include "learnertest.h"
#include "tasks/synth.h"

/* ---- the reference: a network in double ---- */

enum { MB = 16, MW = 8 };   /* rows, widest layer */

static double act_d(int act, double z)
{
    return act == ACT_RELU ? (z > 0 ? z : 0) : act == ACT_TANH ? tanh(z) : z;
}

static double act_dd(int act, double z)   /* the derivative */
{
    return act == ACT_RELU ? (z > 0) : act == ACT_TANH ? 1 - tanh(z) * tanh(z) : 1;
}

struct task {
    int ways, out, dim, ns, nq;
    float xs[MB * MW], xq[MB * MW], ts[MB * MW], tq[MB * MW];
    int ys[MB], yq[MB];
};

/* Mean loss of rows x (b, dim) with parameters p (the arena layout of
 * mlp.h); g (may be NULL) gets its gradient. */
static double ref_loss(const struct mlp_arch *a, const double *p, const float *x, int b,
                       int ways, const int *y, const float *t, double *g)
{
    static double h[MLP_MAX_LAYERS + 1][MB][MW], z[MLP_MAX_LAYERS][MB][MW], d[MB][MW], e2[MB][MW];
    const int L = a->n_layers, out = a->sizes[L];
    size_t wo[MLP_MAX_LAYERS], bo[MLP_MAX_LAYERS], off = 0;
    for (int l = 0; l < L; l++) {
        wo[l] = off, off += (size_t)a->sizes[l] * a->sizes[l + 1];
        bo[l] = off, off += (size_t)a->sizes[l + 1];
    }
    for (int i = 0; i < b; i++)
        for (int j = 0; j < a->sizes[0]; j++)
            h[0][i][j] = x[i * a->sizes[0] + j];
    for (int l = 0; l < L; l++)
        for (int i = 0; i < b; i++)
            for (int o = 0; o < a->sizes[l + 1]; o++) {
                double s = p[bo[l] + o];
                for (int k = 0; k < a->sizes[l]; k++)
                    s += h[l][i][k] * p[wo[l] + (size_t)k * a->sizes[l + 1] + o];
                z[l][i][o] = s;
                h[l + 1][i][o] = l < L - 1 ? act_d(a->act, s) : s;
            }
    double loss = 0;
    for (int i = 0; i < b; i++) {
        const double *o = h[L][i];
        if (ways > 0) {
            double m = o[0], s = 0;
            for (int j = 1; j < out; j++)
                m = fmax(m, o[j]);
            for (int j = 0; j < out; j++)
                s += exp(o[j] - m);
            loss += (m + log(s) - o[y[i]]) / b;
            for (int j = 0; j < out; j++)
                d[i][j] = (exp(o[j] - m) / s - (j == y[i])) / b;
        } else {
            for (int j = 0; j < out; j++) {
                double r = o[j] - t[i * out + j];
                loss += r * r / (b * out);
                d[i][j] = 2 * r / (b * out);
            }
        }
    }
    if (!g)
        return loss;
    for (int l = L - 1; l >= 0; l--) {
        const int nin = a->sizes[l], nout = a->sizes[l + 1];
        for (int k = 0; k < nin; k++)
            for (int o = 0; o < nout; o++) {
                double s = 0;
                for (int i = 0; i < b; i++)
                    s += h[l][i][k] * d[i][o];
                g[wo[l] + (size_t)k * nout + o] = s;
            }
        for (int o = 0; o < nout; o++) {
            double s = 0;
            for (int i = 0; i < b; i++)
                s += d[i][o];
            g[bo[l] + o] = s;
        }
        if (l == 0)
            break;
        for (int i = 0; i < b; i++)
            for (int k = 0; k < nin; k++) {
                double s = 0;
                for (int o = 0; o < nout; o++)
                    s += d[i][o] * p[wo[l] + (size_t)k * nout + o];
                e2[i][k] = s * act_dd(a->act, z[l - 1][i][k]);
            }
        memcpy(d, e2, sizeof d);
    }
    return loss;
}

/* The query loss after `steps` inner steps θ ← θ − rates ⊙ ∇L_s(θ) from theta. */
static double ref_meta_loss(const struct mlp_arch *a, const double *theta, const double *rates,
                            int steps, const struct task *t)
{
    size_t n = mlp_arch_params(a);
    double *p = malloc(sizeof *p * n), *g = malloc(sizeof *g * n);
    memcpy(p, theta, sizeof *p * n);
    for (int i = 0; i < steps; i++) {
        ref_loss(a, p, t->xs, t->ns, t->ways, t->ys, t->ts, g);
        for (size_t j = 0; j < n; j++)
            p[j] -= rates[j] * g[j];
    }
    double loss = ref_loss(a, p, t->xq, t->nq, t->ways, t->yq, t->tq, NULL);
    free(p), free(g);
    return loss;
}

/* ---- fixtures ---- */

static void fill(double *p, size_t n, double scale, uint64_t key)
{
    struct rng r;
    rng_stream(&r, 11, RNG_INIT, key);
    for (size_t i = 0; i < n; i++)
        p[i] = scale * (2 * rng_uniform(&r) - 1);
}

/* Three classes in three inputs, or one target of two inputs. */
static struct task make_task(bool classification, uint64_t key)
{
    struct task t = {.ways = classification ? 3 : 0, .out = classification ? 3 : 1,
                     .dim = classification ? 3 : 2, .ns = 6, .nq = 5};
    struct rng r;
    rng_stream(&r, 12, RNG_TASK, key);
    for (int i = 0; i < t.ns * t.dim; i++)
        t.xs[i] = (float)rng_range(&r, -1.5, 1.5);
    for (int i = 0; i < t.nq * t.dim; i++)
        t.xq[i] = (float)rng_range(&r, -1.5, 1.5);
    for (int i = 0; i < t.ns; i++)
        t.ys[i] = i % 3, t.ts[i] = (float)rng_range(&r, -1, 1);
    for (int i = 0; i < t.nq; i++)
        t.yq[i] = (i + 1) % 3, t.tq[i] = (float)rng_range(&r, -1, 1);
    return t;
}

static struct fewshot as_fewshot(const struct task *t)
{
    return (struct fewshot){.ways = t->ways, .out_dim = t->out, .dim = t->dim,
                            .n_support = t->ns, .n_query = t->nq, .xs = t->xs,
                            .ys = t->ways ? t->ys : NULL, .ts = t->ways ? NULL : t->ts,
                            .xq = t->xq, .yq = t->ways ? t->yq : NULL,
                            .tq = t->ways ? NULL : t->tq};
}

static void to_float(const double *d, float *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        f[i] = (float)d[i];
}

static void to_double(const float *f, double *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        d[i] = f[i];
}

/* max |got − want| / max |want|, guarded against a vanishing reference. */
static double rel_error(const float *got, const double *want, size_t n)
{
    double worst = 0, largest = 0;
    for (size_t i = 0; i < n; i++) {
        worst = fmax(worst, fabs(got[i] - want[i]));
        largest = fmax(largest, fabs(want[i]));
    }
    assert_true(largest > 1e-4);
    return worst / largest;
}

/* ---- Hessian-vector products ---- */

static void hvp_equals_central_differences_of_the_gradient(void **state)
{
    const int acts[] = {ACT_TANH, ACT_RELU, ACT_IDENTITY};
    for (int ai = 0; ai < 3; ai++)
        for (int cls = 0; cls <= 1; cls++)
            for (int head_only = 0; head_only <= 1; head_only++) {
                struct task t = make_task(cls, (uint64_t)ai);
                const struct mlp_arch a = {3, {t.dim, 5, 4, t.out}, acts[ai]};
                const size_t n = mlp_arch_params(&a);
                double *p = malloc(sizeof *p * n), *v = malloc(sizeof *v * n);
                double *gp = malloc(sizeof *gp * n), *gm = malloc(sizeof *gm * n);
                double *want = malloc(sizeof *want * n), *q = malloc(sizeof *q * n);
                float *pf = malloc(sizeof *pf * n), *vf = malloc(sizeof *vf * n);
                float *g = malloc(sizeof *g * n), *hv = malloc(sizeof *hv * n);
                fill(p, n, 0.8, 1), fill(v, n, 1.0, 2);
                to_float(p, pf, n);
                to_double(pf, p, n);   /* both sides at the same point */
                struct tape tp;
                struct err e;
                assert_int_equal(tape_init(&tp, &a, t.ns, &e), 0);
                const int first = head_only ? a.n_layers - 1 : 0;
                size_t off = tp.w_off[first];
                for (size_t j = 0; j < off; j++)
                    v[j] = 0;
                to_float(v, vf, n);
                to_double(vf, v, n);
                uint64_t flops = 0;
                tape_forward(&tp, pf, t.xs, t.ns, &flops);
                double loss = tape_backward(&tp, t.ways, t.ys, t.ts, first, g, NULL, &flops);
                assert_close(loss, ref_loss(&a, p, t.xs, t.ns, t.ways, t.ys, t.ts, want), 1e-6,
                             1e-5);
                assert_true(rel_error(g + off, want + off, n - off) < 1e-5);
                uint64_t before = flops;
                tape_hvp(&tp, vf, first, hv, &flops);
                assert_true(flops > before);
                const double h = 1e-5;
                for (size_t j = 0; j < n; j++)
                    q[j] = p[j] + h * v[j];
                ref_loss(&a, q, t.xs, t.ns, t.ways, t.ys, t.ts, gp);
                for (size_t j = 0; j < n; j++)
                    q[j] = p[j] - h * v[j];
                ref_loss(&a, q, t.xs, t.ns, t.ways, t.ys, t.ts, gm);
                for (size_t j = 0; j < n; j++)
                    want[j] = (gp[j] - gm[j]) / (2 * h);
                double err = rel_error(hv, want, n);
                print_message("  %-8s %-14s v on %-5s: H·v within %.2g of central differences\n",
                              acts[ai] == ACT_TANH ? "tanh" : acts[ai] == ACT_RELU ? "relu" : "identity",
                              cls ? "cross-entropy" : "mse", head_only ? "head" : "all", err);
                assert_true(err < 1e-4);
                tape_free(&tp);
                free(p), free(v), free(gp), free(gm), free(want), free(q), free(pf), free(vf);
                free(g), free(hv);
            }
}

/* ---- meta-gradients ---- */

/* meta_task's gradients against central differences of ref_meta_loss. */
static double meta_check(const struct meta_rule *rule, int act, bool cls, int steps,
                         double *fo_gap)
{
    struct task t = make_task(cls, 7);
    const struct mlp_arch a = {3, {t.dim, 5, 4, t.out}, act};
    const size_t n = mlp_arch_params(&a);
    double *p = malloc(sizeof *p * n), *rates = malloc(sizeof *rates * n);
    double *want = calloc(n, sizeof *want), *q = calloc(n, sizeof *q);
    float *pf = malloc(sizeof *pf * n), *rf = malloc(sizeof *rf * n);
    float *dth = malloc(sizeof *dth * n), *dr = malloc(sizeof *dr * n), *fo = malloc(sizeof *fo * n);
    fill(p, n, 0.8, 3);
    to_float(p, pf, n);
    to_double(pf, p, n);
    struct meta_work w;
    struct err e;
    const int first = meta_first(rule, &a);
    assert_int_equal(meta_work_init(&w, &a, steps, first, 6, &e), 0);
    const size_t off = w.tapes[0].w_off[first];
    struct rng r;
    rng_stream(&r, 13, RNG_INIT, 0);
    for (size_t j = 0; j < n; j++)   /* Meta-SGD's rates differ per parameter */
        rates[j] = j < off ? 0 : rule->learn_rates ? rng_range(&r, 0.05, 0.4) : 0.3;
    to_float(rates, rf, n);
    to_double(rf, rates, n);
    struct fewshot ft = as_fewshot(&t);
    uint64_t flops = 0;
    double loss = meta_task(&w, rule, pf, rf, &ft, dth, rule->learn_rates ? dr : NULL, &flops);
    assert_close(loss, ref_meta_loss(&a, p, rates, steps, &t), 1e-6, 1e-5);
    const double h = 1e-5;
    if (rule->second_order) {
        for (size_t j = 0; j < n; j++) {
            memcpy(q, p, sizeof *q * n);
            q[j] = p[j] + h;
            double up = ref_meta_loss(&a, q, rates, steps, &t);
            q[j] = p[j] - h;
            want[j] = (up - ref_meta_loss(&a, q, rates, steps, &t)) / (2 * h);
        }
    } else {   /* first order: the query gradient at the adapted parameters */
        memcpy(q, p, sizeof *q * n);
        for (int i = 0; i < steps; i++) {
            ref_loss(&a, q, t.xs, t.ns, t.ways, t.ys, t.ts, want);
            for (size_t j = 0; j < n; j++)
                q[j] -= rates[j] * want[j];
        }
        ref_loss(&a, q, t.xq, t.nq, t.ways, t.yq, t.tq, want);
    }
    double err = rel_error(dth, want, n);
    if (rule->learn_rates) {   /* and with respect to the rates */
        for (size_t j = 0; j < n; j++) {
            memcpy(q, rates, sizeof *q * n);
            q[j] = rates[j] + h;
            double up = ref_meta_loss(&a, p, q, steps, &t);
            q[j] = rates[j] - h;
            want[j] = (up - ref_meta_loss(&a, p, q, steps, &t)) / (2 * h);
        }
        double rerr = rel_error(dr, want, n);
        print_message("    rates' gradient within %.2g\n", rerr);
        err = fmax(err, rerr);
    }
    if (fo_gap) {   /* how far the first-order gradient is from the exact one */
        const struct meta_rule first_order = {.second_order = false, .head_only = rule->head_only};
        meta_task(&w, &first_order, pf, rf, &ft, fo, NULL, &flops);
        double num = 0, den = 0;
        for (size_t j = 0; j < n; j++)
            num += (fo[j] - dth[j]) * (fo[j] - dth[j]), den += (double)dth[j] * dth[j];
        *fo_gap = sqrt(num / den);
    }
    meta_work_free(&w);
    free(p), free(rates), free(want), free(q), free(pf), free(rf), free(dth), free(dr), free(fo);
    return err;
}

static void maml_meta_gradient_equals_central_differences(void **state)
{
    const struct meta_rule maml = {.second_order = true};
    for (int steps = 1; steps <= 2; steps++)
        for (int cls = 0; cls <= 1; cls++)
            for (int ai = 0; ai < 2; ai++) {
                const int act = ai ? ACT_RELU : ACT_TANH;
                double gap;
                double err = meta_check(&maml, act, cls, steps, &gap);
                print_message("  maml %d step%s %-5s %-14s: within %.2g; first order is %.2g "
                              "away\n", steps, steps > 1 ? "s" : " ", ai ? "relu" : "tanh",
                              cls ? "cross-entropy" : "mse", err, gap);
                assert_true(err < 1e-3);
                assert_true(gap > 1e-2);   /* the second-order terms matter here */
            }
}

static void fomaml_gradient_is_the_query_gradient_after_the_steps(void **state)
{
    const struct meta_rule fo = {.second_order = false};
    for (int steps = 1; steps <= 2; steps++)
        for (int cls = 0; cls <= 1; cls++) {
            double err = meta_check(&fo, ACT_TANH, cls, steps, NULL);
            print_message("  fomaml %d step%s %-14s: within %.2g\n", steps, steps > 1 ? "s" : " ",
                          cls ? "cross-entropy" : "mse", err);
            assert_true(err < 1e-3);
        }
}

static void anil_body_gradient_goes_through_the_heads_steps(void **state)
{
    const struct meta_rule anil = {.second_order = true, .head_only = true};
    for (int steps = 1; steps <= 2; steps++)
        for (int cls = 0; cls <= 1; cls++) {
            double gap;
            double err = meta_check(&anil, ACT_TANH, cls, steps, &gap);
            print_message("  anil %d step%s %-14s: within %.2g; first order is %.2g away\n",
                          steps, steps > 1 ? "s" : " ", cls ? "cross-entropy" : "mse", err, gap);
            assert_true(err < 1e-3);
            assert_true(gap > 1e-2);
        }
}

static void metasgd_rate_gradient_equals_central_differences(void **state)
{
    const struct meta_rule msgd = {.second_order = true, .learn_rates = true};
    for (int steps = 1; steps <= 2; steps++)
        for (int cls = 0; cls <= 1; cls++) {
            double err = meta_check(&msgd, ACT_TANH, cls, steps, NULL);
            print_message("  metasgd %d step%s %-14s: within %.2g\n", steps, steps > 1 ? "s" : " ",
                          cls ? "cross-entropy" : "mse", err);
            assert_true(err < 1e-3);
        }
}

/* ---- meta-training on sinusoids ---- */

enum { SHOTS = 5, QUERIES = 10 };

struct sine_source {
    struct sinusoid p;
    uint64_t key;
    float xs[SHOTS], ts[SHOTS], xq[QUERIES], tq[QUERIES];
};

static int sine_episode(void *arg, uint64_t index, int ways, int shots, int queries,
                        struct fewshot *out, struct err *e)
{
    struct sine_source *s = arg;
    assert_int_equal(ways, 0);
    assert_true(shots == SHOTS && queries <= QUERIES);
    int q = queries > 0 ? queries : 1;
    synth_sinusoid_episode(&s->p, 5, s->key, shots, q, index, s->xs, s->ts, s->xq, s->tq, NULL,
                           NULL);
    *out = (struct fewshot){.out_dim = 1, .dim = 1, .n_support = shots, .n_query = queries,
                            .xs = s->xs, .ts = s->ts, .xq = s->xq, .tq = s->tq};
    return ERR_OK;
}

/* Mean query MSE after adapting net (and its extra state) to 100 held-out functions. */
static double held_out_loss(const struct learner_settings *s, const struct mlp *net,
                            const float *extra, size_t n_extra)
{
    struct sine_source src = {.key = 999};
    synth_sinusoid_defaults(&src.p);
    struct learner_env env = {.pretrained = net, .extra = extra, .n_extra = n_extra};
    struct fewshot shape = {.out_dim = 1, .dim = 1, .n_support = SHOTS, .n_query = QUERIES};
    struct err e;
    struct learner *l = learner_new(s, &env, &shape, &e);
    assert_non_null(l);
    double sum = 0;
    for (int i = 0; i < 100; i++) {
        struct fewshot ep;
        sine_episode(&src, (uint64_t)i, 0, SHOTS, QUERIES, &ep, &e);
        struct learner_model *m;
        struct capture cap;
        capture_init(&cap, &ep);
        struct rng r;
        rng_stream(&r, 5, RNG_LEARNER, (uint64_t)i);
        assert_int_equal(learner_adapt(l, &ep, &r, capture_record, &cap, &m, &e), 0);
        float pred[QUERIES];
        assert_int_equal(model_predict(m, ep.xq, QUERIES, pred, &e), 0);
        for (int j = 0; j < QUERIES; j++)
            sum += (pred[j] - ep.tq[j]) * (double)(pred[j] - ep.tq[j]) / (100.0 * QUERIES);
    }
    learner_free(l);
    return sum;
}

static void meta_training_lowers_the_held_out_loss_of_every_meta_learner(void **state)
{
    static const char *kinds[] = {"maml", "fomaml", "anil", "metasgd", "reptile"};
    for (int k = 0; k < 5; k++) {
        struct learner_settings s;
        struct err e;
        assert_int_equal(config_learner_defaults(learner_find(kinds[k]), &s, &e), 0);
        s.meta.iterations = 300, s.meta.batch = 5;
        s.meta.lr = 0.01;
        if (strcmp(kinds[k], "reptile") == 0)   /* its ε, a fraction of the way */
            s.meta.lr = 0.5, s.meta.inner_lr = s.optim.lr = 0.02;
        struct sine_source src = {.key = 1};
        synth_sinusoid_defaults(&src.p);
        struct learner_source ls = {.dim = 1, .out_dim = 1, .n = 0, .arg = &src,
                                    .episode = sine_episode};
        volatile sig_atomic_t stop = 0;
        struct pretrain_env env = {.src = &ls, .arch = {3, {1, 20, 20, 1}, ACT_RELU},
                                   .init = INIT_TORCH, .seed = 4, .shots = SHOTS,
                                   .queries = QUERIES, .stop = &stop};
        /* the initialisation it starts from: no outer step (lr 0) */
        struct learner_settings s0 = s;
        s0.meta.iterations = 1, s0.meta.lr = 0;
        struct mlp net0, net;
        float *x0 = NULL, *x1 = NULL;
        size_t n0 = 0, n1 = 0;
        struct pretrain_result res;
        const struct learner_kind *kind = learner_kinds[learner_find(kinds[k])];
        assert_int_equal(kind->pretrain(&s0, &env, &net0, &x0, &n0, &res, &e), 0);
        assert_int_equal(kind->pretrain(&s, &env, &net, &x1, &n1, &res, &e), 0);
        assert_false(res.diverged);
        assert_int_equal(res.examples, 300 * 5 * (SHOTS + (k < 4 ? QUERIES : 0)));
        assert_true(net.flops > 0);
        double before = held_out_loss(&s, &net0, x0, n0);
        double after = held_out_loss(&s, &net, x1, n1);
        print_message("  %-8s held-out MSE after adaptation: %.3f from the start, %.3f "
                      "meta-trained\n", kinds[k], before, after);
        assert_true(after < 0.8 * before);
        mlp_free(&net0), mlp_free(&net);
        free(x0), free(x1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hvp_equals_central_differences_of_the_gradient),
        cmocka_unit_test(maml_meta_gradient_equals_central_differences),
        cmocka_unit_test(fomaml_gradient_is_the_query_gradient_after_the_steps),
        cmocka_unit_test(anil_body_gradient_goes_through_the_heads_steps),
        cmocka_unit_test(metasgd_rate_gradient_equals_central_differences),
        cmocka_unit_test(meta_training_lowers_the_held_out_loss_of_every_meta_learner),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
