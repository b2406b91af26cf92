/* test_reptile: Reptile's meta-training against its closed form on a
 * quadratic loss (two inner SGD steps: the term α²Hg that sets it apart
 * from joint training included), averaged over a meta-batch; and on a
 * family of linear tasks, that the initialisation it learns adapts better
 * than the one it started from. Tasks come from a learner_source written
 * here, as the harness would hand them. */
#include "testutil.h"

#include <math.h>
#include <string.h>

#include "harness/base/rng.h"
#include "learners/learner.h"
#include "learners/mlp.h"
#include "learnertest.h"

/* ---- a family of linear regression tasks ---- */

enum { ROWS = 4 };

/* Task index: y = a·x₁ + c·x₂ + b on ROWS fixed-by-index inputs; with
 * fixed set, every index is task 0. */
struct family {
    bool fixed;
    int dim;                       /* 1 or 2 inputs */
    double a0, spread;             /* slopes and offsets: centre a0, ± spread */
    float xs[ROWS * 2], ts[ROWS], xq[ROWS * 2];
};

static void task_params(const struct family *f, uint64_t index, double p[3])
{
    struct rng r;
    rng_stream(&r, 77, RNG_TASK, f->fixed ? 0 : index);
    for (int i = 0; i < 3; i++)
        p[i] = f->a0 * (i == 2 ? -1 : 1) + f->spread * (2 * rng_uniform(&r) - 1);
}

static int episode(void *arg, uint64_t index, int ways, int shots, int queries,
                   struct fewshot *out, struct err *e)
{
    struct family *f = arg;
    double p[3];
    assert_int_equal(ways, 0);   /* a regression family: no classes */
    assert_int_equal(shots, ROWS);
    task_params(f, index, p);
    struct rng r;
    rng_stream(&r, 78, RNG_TASK, f->fixed ? 0 : index);
    for (int i = 0; i < ROWS; i++) {
        double y = p[2];
        for (int j = 0; j < f->dim; j++) {
            f->xs[i * f->dim + j] = (float)rng_range(&r, -1.5, 1.5);
            y += p[j] * f->xs[i * f->dim + j];
        }
        f->ts[i] = (float)y;
    }
    *out = (struct fewshot){.ways = 0, .out_dim = 1, .dim = f->dim, .n_support = ROWS,
                            .n_query = queries > 0 ? ROWS : 0, .xs = f->xs, .ts = f->ts,
                            .xq = f->xs};
    return ERR_OK;
}

static void rows_unused(void *arg, const int *idx, int m, float *x, int *y, float *t)
{
    fail_msg("Reptile reads tasks, not source rows");
}

static struct learner_settings reptile_settings(long iterations, long batch, long inner_steps,
                                                double inner_lr, double eps)
{
    struct learner_settings s = settings("reptile");
    s.meta = (struct meta_settings){.iterations = iterations, .batch = batch, .ways = 5,
                                    .shots = ROWS, .inner_steps = inner_steps,
                                    .inner_lr = inner_lr, .inner_optimizer = OPTIM_SGD,
                                    .lr = eps};
    return s;
}

/* Meta-train a linear network (dim inputs, one output) on family f. */
static void meta_train(const struct learner_settings *s, struct family *f, struct mlp *net,
                       struct pretrain_result *res)
{
    const struct learner_kind *k = learner_kinds[learner_find("reptile")];
    struct learner_source src = {.dim = f->dim, .classes = 0, .out_dim = 1, .n = 0, .arg = f,
                                 .rows = rows_unused, .episode = episode};
    volatile sig_atomic_t stop = 0;
    struct pretrain_env env = {.src = &src, .arch = {1, {f->dim, 1}, ACT_RELU},
                               .init = INIT_TORCH, .seed = 5, .shots = ROWS, .stop = &stop};
    float *extra = (float *)1;
    size_t n_extra = 9;
    struct err e;
    err_clear(&e);
    int rc = k->pretrain(s, &env, net, &extra, &n_extra, res, &e);
    if (rc)
        fail_msg("pretrain: %s", e.msg);
    assert_null(extra);   /* Reptile keeps nothing beside the network */
    assert_int_equal(n_extra, 0);
}

/* θ₀: the fresh network Reptile starts from, (seed, RNG_INIT, 0). */
static void initial(double *theta, int dim)
{
    struct mlp net;
    struct err e;
    const struct mlp_arch a = {1, {dim, 1}, ACT_RELU};
    assert_int_equal(mlp_init(&net, &a, &e), 0);
    struct rng r;
    rng_stream(&r, 5, RNG_INIT, 0);
    mlp_init_params(&net, INIT_TORCH, &r);
    for (int i = 0; i <= dim; i++)
        theta[i] = net.params[i];   /* W (1, dim), then b */
    mlp_free(&net);
}

/* Gradient and Hessian-gradient product of the task's mean squared error at θ. */
static void grad_and_hg(const struct family *f, const double *theta, double *g, double *hg)
{
    int d = f->dim + 1;
    double h[3][3] = {{0}};
    for (int j = 0; j < d; j++)
        g[j] = 0;
    for (int i = 0; i < ROWS; i++) {
        double z[3], r = 0;
        for (int j = 0; j < f->dim; j++)
            z[j] = f->xs[i * f->dim + j];
        z[f->dim] = 1;
        for (int j = 0; j < d; j++)
            r += theta[j] * z[j];
        r -= f->ts[i];
        for (int j = 0; j < d; j++) {
            g[j] += 2.0 / ROWS * r * z[j];
            for (int k = 0; k < d; k++)
                h[j][k] += 2.0 / ROWS * z[j] * z[k];
        }
    }
    for (int j = 0; j < d; j++) {
        hg[j] = 0;
        for (int k = 0; k < d; k++)
            hg[j] += h[j][k] * g[k];
    }
}

static void two_inner_steps_match_the_closed_form(void **state)
{
    const double alpha = 0.1, eps = 0.5;
    struct family f = {.fixed = true, .dim = 2, .a0 = 1.0, .spread = 0.5};
    struct fewshot ep;
    struct err e;
    episode(&f, 0, 0, ROWS, 0, &ep, &e);   /* the one task, for the reference */
    double theta[3], g[3], hg[3], want[3];
    initial(theta, 2);
    grad_and_hg(&f, theta, g, hg);
    /* φ₂ − θ = −2αg + α²Hg for a quadratic loss; θ' = θ + ε(φ₂ − θ) */
    double second = 0;
    for (int j = 0; j < 3; j++) {
        want[j] = theta[j] + eps * (-2 * alpha * g[j] + alpha * alpha * hg[j]);
        second = fmax(second, fabs(eps * alpha * alpha * hg[j]));
    }
    struct learner_settings s = reptile_settings(1, 1, 2, alpha, eps);
    struct mlp net;
    struct pretrain_result res;
    meta_train(&s, &f, &net, &res);
    double worst = 0;
    for (int j = 0; j < 3; j++) {
        assert_close(net.params[j], want[j], 1e-6, 1e-5);
        worst = fmax(worst, fabs(net.params[j] - want[j]));
    }
    print_message("  reptile: θ' within %.2g of the closed form; its second-order term is %.3g\n",
                  worst, second);
    assert_true(second > 1e-2);       /* the term that is not joint training's is there */
    assert_true(second > 1000 * worst);
    assert_int_equal(res.examples, ROWS);
    assert_false(res.diverged);
    assert_true(isfinite(res.train_loss) && res.train_loss > 0);
    assert_true(net.flops > 0);
    mlp_free(&net);
}

static void a_meta_batch_averages_its_tasks_updates(void **state)
{
    const double alpha = 0.05, eps = 1.0;
    struct family f = {.fixed = false, .dim = 1, .a0 = 2.0, .spread = 1.0};
    double theta[2], want[2] = {0, 0};
    initial(theta, 1);
    for (uint64_t t = 0; t < 3; t++) {
        struct fewshot ep;
        struct err e;
        double g[2], hg[2];
        episode(&f, t, 0, ROWS, 0, &ep, &e);
        grad_and_hg(&f, theta, g, hg);
        for (int j = 0; j < 2; j++)
            want[j] += (-2 * alpha * g[j] + alpha * alpha * hg[j]) / 3;
    }
    struct learner_settings s = reptile_settings(1, 3, 2, alpha, eps);
    struct mlp net;
    struct pretrain_result res;
    meta_train(&s, &f, &net, &res);
    for (int j = 0; j < 2; j++)
        assert_close(net.params[j], theta[j] + eps * want[j], 1e-6, 1e-5);
    assert_int_equal(res.examples, 3 * ROWS);
    mlp_free(&net);
}

/* Mean query MSE after `steps` test-time SGD steps from init, over 20
 * tasks the meta-training never drew. */
static double adapted_mse(struct mlp *init, struct family *f, long steps)
{
    struct learner_settings s = reptile_settings(1, 1, steps, 0.1, 0.1);
    s.steps = steps, s.optim.kind = OPTIM_SGD, s.optim.lr = 0.1;
    struct learner_env env = {.pretrained = init};
    struct fewshot shape = {.ways = 0, .out_dim = 1, .dim = f->dim, .n_support = ROWS,
                            .n_query = ROWS};
    struct err e;
    struct learner *l = learner_new(&s, &env, &shape, &e);
    assert_non_null(l);
    double total = 0;
    for (uint64_t t = 0; t < 20; t++) {
        struct fewshot ep;
        episode(f, 1000000 + t, 0, ROWS, 1, &ep, &e);
        struct rng r;
        rng_stream(&r, 1, RNG_LEARNER, t);
        struct capture cap;
        capture_init(&cap, &ep);
        assert_int_equal(learner_adapt(l, &ep, &r, capture_record, &cap, NULL, &e), 0);
        double mse = 0;
        for (int i = 0; i < ROWS; i++)
            mse += (cap.scores[cap.n - 1][i] - f->ts[i]) * (cap.scores[cap.n - 1][i] - f->ts[i]);
        total += mse / ROWS;
    }
    learner_free(l);
    return total / 20;
}

static void the_learned_initialisation_adapts_better_than_the_first(void **state)
{
    /* tasks centred far from where a fresh network starts */
    struct family f = {.fixed = false, .dim = 1, .a0 = 3.0, .spread = 1.0};
    struct mlp before, after;
    struct pretrain_result res;
    struct learner_settings s0 = reptile_settings(0, 5, 5, 0.05, 0.3);
    meta_train(&s0, &f, &before, &res);   /* no outer step: θ₀ */
    struct learner_settings s = reptile_settings(300, 5, 5, 0.05, 0.3);
    meta_train(&s, &f, &after, &res);
    double mse0 = adapted_mse(&before, &f, 2), mse = adapted_mse(&after, &f, 2);
    print_message("  reptile: held-out MSE after 2 steps %.3g from θ₀, %.3g from the learned "
                  "initialisation\n", mse0, mse);
    assert_true(mse < 0.25 * mse0);
    assert_true(res.train_loss < 1.0);
    mlp_free(&before);
    mlp_free(&after);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(two_inner_steps_match_the_closed_form),
        cmocka_unit_test(a_meta_batch_averages_its_tasks_updates),
        cmocka_unit_test(the_learned_initialisation_adapts_better_than_the_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
