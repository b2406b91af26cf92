/* test_finetune: the learners that train — finetune (the linear probe, a
 * frozen prefix, every layer) and scratch — and learner_train beneath them,
 * against a double-precision re-implementation of the head's Adam training
 * and the forward pass of learnertest, plus the contracts of learner.h:
 * which steps are recorded, that the shared pretrained network is never
 * written, that the same learner stream gives the same bits, and that the
 * linear probe's precomputed-feature path gives exactly the numbers of
 * training the whole network with the body frozen. */
#include "testutil.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/base/rng.h"
#include "learners/learner.h"
#include "learners/loss.h"
#include "learners/mlp.h"
#include "learners/optim.h"
#include "learnertest.h"

/* ---- independent references ----------------------------------------- */

/* A linear head in double: scores = f·Wᵀ + b, W (out, fdim). */
struct ref_head {
    int fdim, out;
    double w[MAX_WIDTH * MAX_WIDTH], b[MAX_WIDTH];
};

static void ref_head_scores(const struct ref_head *h, const double *f, int n, double *scores)
{
    for (int i = 0; i < n; i++)
        for (int c = 0; c < h->out; c++) {
            double z = h->b[c];
            for (int j = 0; j < h->fdim; j++)
                z += h->w[c * h->fdim + j] * f[i * h->fdim + j];
            scores[i * h->out + c] = z;
        }
}

/* `steps` full-batch Adam steps (PyTorch's rule, in double) on the mean
 * softmax cross-entropy (ys given) or the mean squared error (ts given) of
 * the head over features f (n, fdim). Returns the smallest non-zero
 * |gradient| met, so a test can check that no update hinged on a value
 * near zero (where Adam's normalisation would amplify rounding). */
static double ref_train_head(struct ref_head *h, const double *f, int n, const int *ys,
                             const float *ts, const struct optim_settings *o, long steps)
{
    enum { P = MAX_WIDTH * MAX_WIDTH + MAX_WIDTH };
    double m[P] = {0}, v[P] = {0}, g[P], s[MAX_ROWS * MAX_WIDTH], smallest = INFINITY;
    int nw = h->out * h->fdim;
    for (long t = 1; t <= steps; t++) {
        ref_head_scores(h, f, n, s);
        memset(g, 0, sizeof g);
        for (int i = 0; i < n; i++) {
            double *row = s + i * h->out, top = row[0], sum = 0;
            for (int c = 1; c < h->out; c++)
                top = fmax(top, row[c]);
            for (int c = 0; c < h->out; c++)
                sum += exp(row[c] - top);
            for (int c = 0; c < h->out; c++) {
                double d = ys ? (exp(row[c] - top) / sum - (ys[i] == c)) / n
                              : 2.0 * (row[c] - ts[i * h->out + c]) / (n * h->out);
                for (int j = 0; j < h->fdim; j++)
                    g[c * h->fdim + j] += d * f[i * h->fdim + j];
                g[nw + c] += d;
            }
        }
        double bc1 = 1 - pow(o->beta1, (double)t), bc2 = 1 - pow(o->beta2, (double)t);
        for (int i = 0; i < nw + h->out; i++) {
            if (g[i] != 0)
                smallest = fmin(smallest, fabs(g[i]));
            m[i] = o->beta1 * m[i] + (1 - o->beta1) * g[i];
            v[i] = o->beta2 * v[i] + (1 - o->beta2) * g[i] * g[i];
            double *p = i < nw ? &h->w[i] : &h->b[i - nw];
            *p -= o->lr / bc1 * m[i] / (sqrt(v[i]) / sqrt(bc2) + o->eps);
        }
    }
    return smallest;
}

/* The linear probe's model in double: the pretrained body, then a head. */
struct probe_model {
    const struct mlp *pre;
    const struct ref_head *h;
    const int *y;
    int n;
};

static double probe_loss(const void *arg, const double *x)
{
    const struct probe_model *pm = arg;
    double f[MAX_ROWS * MAX_WIDTH], scores[MAX_ROWS * MAX_WIDTH];
    ref_forward_d(pm->pre, x, pm->n, pm->pre->arch.n_layers - 1, f);
    ref_head_scores(pm->h, f, pm->n, scores);
    return ref_xent(scores, pm->y, pm->n, pm->h->out);
}

static bool all_finite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return false;
    return true;
}

/* ---- finetune ------------------------------------------------------- */

static void probe_trains_the_head_only_as_an_independent_adam_would(void **state)
{
    struct mlp pre;
    struct snapshot before;
    struct fewshot t = small_fixture(&pre, &before);
    struct learner_settings s = settings("finetune");
    s.freeze = FREEZE_BODY;
    s.steps = 6;
    s.optim.lr = 0.05;
    struct fixture_ctx c = {.pretrained = &pre};
    struct capture cap;
    assert_int_equal(run(&s, &t, &c, &cap), 0);
    assert_unchanged(&before, &pre);
    assert_int_equal(cap.n, 1);  // no record_steps: the final step only
    assert_int_equal(cap.step[0], 6);
    assert_true(cap.logits[0]);
    assert_true(c.flops > 0);

    // the reference: pretrained features by naive loops, a zero head
    // trained in double with the same Adam settings
    double fs[5 * 4], fq[4 * 4], want[4 * 3];
    ref_forward(&pre, t.xs, 5, 1, fs);
    ref_forward(&pre, t.xq, 4, 1, fq);
    struct ref_head h = {.fdim = 4, .out = 3};
    double smallest = ref_train_head(&h, fs, 5, t.ys, NULL, &s.optim, s.steps);
    assert_true(smallest > 1e-4);  // no Adam step hinged on a rounding-sized gradient
    ref_head_scores(&h, fq, 4, want);
    double moved = 0;
    for (int i = 0; i < 12; i++) {
        assert_close(cap.scores[0][i], want[i], 1e-5, 1e-4);
        moved = fmax(moved, fabs(want[i]));
    }
    assert_true(moved > 0.1);  // the head did learn something

    // the adapted model's input gradient: central differences of the
    // reference model's loss, in double, on the queries
    c = (struct fixture_ctx){.pretrained = &pre};
    struct learner_model *m;
    struct learner *l = run_kept(&s, &t, &c, &cap, &m);
    static const int yq[4] = {2, 0, 1, 1};
    struct probe_model pm = {&pre, &h, yq, 4};
    double err = input_grad_vs(m, t.xq, yq, 4, 3, probe_loss, &pm);
    printf("  probe: input gradient within %.2g of double-precision differences\n", err);
    assert_true(err < 1e-4);
    learner_free(l);
    mlp_free(&pre);
}

/* The pretrained body under a new head of `ways` outputs drawn from a copy
 * of r (finetune draws its head from the learner stream). */
static void body_with_head(struct mlp *net, const struct mlp *pre, int ways, enum init_kind head,
                           const struct rng *r)
{
    struct mlp_arch a = pre->arch;
    a.sizes[a.n_layers] = ways;
    struct err e;
    err_clear(&e);
    assert_int_equal(mlp_init(net, &a, &e), 0);
    memcpy(net->params, pre->params, sizeof(float) * mlp_body_size(pre));
    struct rng copy = *r;
    mlp_init_layer(net, a.n_layers - 1, head, &copy);
}

static struct span layer_span(const struct mlp *net, int l)
{
    const struct mlp_arch *a = &net->arch;
    return (struct span){net->w_off[l], (size_t)a->sizes[l] * a->sizes[l + 1] + a->sizes[l + 1]};
}

/* Train the whole network net with the engine alone, the given layers
 * stepped and the others left out of the optimizer, recording the query
 * scores after the recorded steps: the straightforward path finetune's
 * frozen prefix must reproduce bit for bit. */
static void train_layers(struct mlp *net, const struct learner_settings *s,
                         const struct fewshot *t, const int *layers, int n,
                         struct capture *cap)
{
    struct span spans[MLP_MAX_LAYERS];
    for (int i = 0; i < n; i++)
        spans[i] = layer_span(net, layers[i]);
    capture_init(cap, t);
    struct err e;
    err_clear(&e);
    struct mlp_work w;
    struct optim o;
    float dout[MAX_ROWS * MAX_WIDTH];
    int rows = t->n_support > t->n_query ? t->n_support : t->n_query, lowest = layers[0];
    for (int i = 1; i < n; i++)
        lowest = layers[i] < lowest ? layers[i] : lowest;
    assert_int_equal(mlp_work_init(&w, &net->arch, rows, &e), 0);
    assert_int_equal(optim_init(&o, &s->optim, net->n_params, &e), 0);
    for (long step = 0;; step++) {
        if (learner_recorded(s, step)) {
            const float *q = mlp_forward(net, &w, t->xq, t->n_query, net->arch.n_layers);
            memcpy(cap->scores[cap->n], q, sizeof(float) * cap->n_scores);
            cap->step[cap->n] = (int)step;
            cap->logits[cap->n++] = true;
        }
        if (step == s->steps)
            break;
        const float *out = mlp_forward(net, &w, t->xs, t->n_support, net->arch.n_layers);
        loss_xent(out, t->ys, t->n_support, t->ways, dout, NULL, &net->flops);
        mlp_zero_grad(net);
        mlp_backward(net, &w, dout, lowest, NULL);
        optim_step(&o, net->params, net->grads, spans, n, &net->flops);
    }
    optim_free(&o);
    mlp_work_free(&w);
}

static void assert_same_records(const struct capture *a, const struct capture *b)
{
    assert_int_equal(a->n, b->n);
    for (int r = 0; r < a->n; r++) {
        assert_int_equal(a->step[r], b->step[r]);
        assert_int_equal(a->logits[r], b->logits[r]);
        assert_memory_equal(a->scores[r], b->scores[r], sizeof(float) * a->n_scores);
    }
}

/* 3 → 4 → 4 → 2 (ReLU), 3 ways: finetune with a frozen prefix against the
 * whole network trained with those layers left out of the optimizer, with a
 * zero head and with one drawn from the learner stream. */
static void frozen_prefix_matches_training_the_whole_network_bit_for_bit(void **state)
{
    const struct mlp_arch a = {3, {3, 4, 4, 2}, ACT_RELU};
    struct mlp pre;
    net_formula(&pre, &a, 0.5);
    struct snapshot before;
    snap(&before, &pre);
    struct fewshot t = small_task();
    struct learner_settings s = settings("finetune");
    s.steps = 5;
    s.optim.lr = 0.05;
    s.n_record = 3;
    s.record_steps[0] = 0, s.record_steps[1] = 2, s.record_steps[2] = 5;
    static const struct {
        int freeze, n_frozen, frozen[2], n_train, train[3], head;
    } cases[] = {
        {FREEZE_BODY, 0, {0}, 1, {2}, INIT_ZERO},
        {FREEZE_BODY, 0, {0}, 1, {2}, INIT_GLOROT},
        {FREEZE_LAYERS, 1, {0}, 2, {1, 2}, INIT_ZERO},
        {FREEZE_LAYERS, 2, {1, 0}, 1, {2}, INIT_TORCH},
        {FREEZE_LAYERS, 1, {1}, 2, {0, 2}, INIT_ZERO},  // not a prefix: nothing to precompute
        {FREEZE_LAYERS, 1, {2}, 2, {0, 1}, INIT_HE},    // a frozen drawn head
        {FREEZE_NONE, 0, {0}, 3, {0, 1, 2}, INIT_ZERO},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        s.head = cases[i].head;
        s.freeze = cases[i].freeze;
        s.n_frozen = cases[i].n_frozen;
        for (int j = 0; j < s.n_frozen; j++)
            s.frozen[j] = cases[i].frozen[j];
        struct fixture_ctx c = {.pretrained = &pre};
        rng_stream(&c.rng, 11, RNG_LEARNER, i);
        struct mlp net;
        body_with_head(&net, &pre, 3, (enum init_kind)s.head, &c.rng);
        net.flops = 0;
        struct capture old, got;
        train_layers(&net, &s, &t, cases[i].train, cases[i].n_train, &old);
        // frozen layers of the trained network are the pretrained ones, bit
        // for bit; trained layers moved
        for (int l = 0; l < 3; l++) {
            bool trained = false;
            for (int j = 0; j < cases[i].n_train; j++)
                trained |= cases[i].train[j] == l;
            struct span sp = layer_span(&net, l);
            if (l < 2 && !trained)
                assert_memory_equal(net.params + sp.off, pre.params + sp.off, sizeof(float) * sp.n);
            if (l < 2 && trained)
                assert_true(memcmp(net.params + sp.off, pre.params + sp.off, sizeof(float) * sp.n));
        }
        assert_int_equal(run(&s, &t, &c, &got), 0);
        assert_same_records(&old, &got);
        assert_unchanged(&before, &pre);
        // a frozen prefix runs the frozen layers once, not at every step
        if (i == 0)
            printf("  probe: %llu flops, %llu through the whole network\n",
                   (unsigned long long)c.flops, (unsigned long long)net.flops);
        if (cases[i].train[0] > 0)
            assert_true(c.flops < net.flops);
        else
            assert_true(c.flops == net.flops);
        mlp_free(&net);
    }
    mlp_free(&pre);
}

static void the_final_step_and_the_listed_ones_are_recorded(void **state)
{
    struct mlp pre;
    small_net(&pre);
    struct fewshot t = small_task();
    struct learner_settings s = settings("finetune");
    s.steps = 7;   // not listed, but the final step is always recorded
    s.optim.lr = 0.05;
    s.n_record = 3;
    s.record_steps[0] = 5, s.record_steps[1] = 0, s.record_steps[2] = 2;   // any order
    for (int f = FREEZE_NONE; f <= FREEZE_BODY; f++) {
        s.freeze = f;
        struct fixture_ctx c = {.pretrained = &pre};
        struct capture cap;
        assert_int_equal(run(&s, &t, &c, &cap), 0);
        assert_int_equal(cap.n, 4);
        static const int want[4] = {0, 2, 5, 7};
        for (int r = 0; r < 4; r++) {
            assert_int_equal(cap.step[r], want[r]);
            assert_true(cap.logits[r]);
        }
        for (int i = 0; i < 12; i++)  // a zero head scores 0 before any step
            assert_true(cap.scores[0][i] == 0.0f);
        assert_true(memcmp(cap.scores[1], cap.scores[2], sizeof(float) * 12) != 0);
        assert_true(memcmp(cap.scores[2], cap.scores[3], sizeof(float) * 12) != 0);
    }
    /* listing the final step records it once */
    s.n_record = 1, s.record_steps[0] = 7;
    struct fixture_ctx c = {.pretrained = &pre};
    struct capture cap;
    assert_int_equal(run(&s, &t, &c, &cap), 0);
    assert_int_equal(cap.n, 1);
    assert_int_equal(cap.step[0], 7);
    mlp_free(&pre);
}

/* Regression (ways 0): the pretrained head is kept, so step 0 reports the
 * pretrained network's own outputs, and the probe trains that head by MSE. */
static void regression_keeps_the_pretrained_head_and_fits_it_by_mse(void **state)
{
    const struct mlp_arch a = {2, {1, 4, 1}, ACT_TANH};
    struct mlp pre;
    net_formula(&pre, &a, 0.2);
    struct snapshot before;
    snap(&before, &pre);
    const float xs[5] = {-2, -1, 0, 1, 2}, ts[5] = {1.5f, 0.4f, -0.2f, 0.3f, 1.1f};
    const float xq[3] = {-1.5f, 0.5f, 1.5f};
    struct fewshot t = {.ways = 0, .out_dim = 1, .dim = 1, .n_support = 5, .n_query = 3,
                        .xs = xs, .ts = ts, .xq = xq};
    struct learner_settings s = settings("finetune");
    s.freeze = FREEZE_BODY;
    s.steps = 4;
    s.optim.lr = 0.05;
    s.n_record = 2;
    s.record_steps[0] = 0, s.record_steps[1] = 4;
    struct fixture_ctx c = {.pretrained = &pre};
    struct capture cap;
    assert_int_equal(run(&s, &t, &c, &cap), 0);
    assert_unchanged(&before, &pre);
    assert_int_equal(cap.n, 2);
    assert_false(cap.logits[0]);
    assert_false(cap.logits[1]);

    double out[3], fs[5 * 4], fq[3 * 4], want[3];
    ref_forward(&pre, xq, 3, 2, out);
    for (int i = 0; i < 3; i++)
        assert_close(cap.scores[0][i], out[i], 1e-6, 1e-5);
    ref_forward(&pre, xs, 5, 1, fs);
    ref_forward(&pre, xq, 3, 1, fq);
    struct ref_head h = {.fdim = 4, .out = 1};
    for (int j = 0; j < 4; j++)
        h.w[j] = pre.params[pre.w_off[1] + j];
    h.b[0] = pre.params[pre.b_off[1]];
    double smallest = ref_train_head(&h, fs, 5, NULL, ts, &s.optim, s.steps);
    assert_true(smallest > 1e-4);
    ref_head_scores(&h, fq, 3, want);
    for (int i = 0; i < 3; i++) {
        assert_close(cap.scores[1][i], want[i], 1e-5, 1e-4);
        assert_true(fabs(want[i] - out[i]) > 0.01);  // training moved the outputs
    }
    // unfrozen, the whole network trains, and still leaves the shared one alone
    s.freeze = FREEZE_NONE;
    assert_int_equal(run(&s, &t, &c, &cap), 0);
    assert_unchanged(&before, &pre);
    assert_int_equal(cap.n, 2);
    for (int i = 0; i < 3; i++)
        assert_close(cap.scores[0][i], out[i], 1e-6, 1e-5);
    mlp_free(&pre);
}

/* ---- scratch -------------------------------------------------------- */

/* Three well-separated classes in 2-d; queries = the 9 support rows, then
 * 6 new points, so one run reports both the support loss and accuracy. */
static const float toy_xs[9 * 2] = {
    0.0f, 3.0f, 0.3f, 2.8f, -0.2f, 3.3f,
    3.0f, -2.0f, 2.7f, -1.8f, 3.2f, -2.3f,
    -3.0f, -2.0f, -2.8f, -2.4f, -3.3f, -1.7f,
};
static const int toy_ys[9] = {0, 0, 0, 1, 1, 1, 2, 2, 2};
static const float toy_new[6 * 2] = {0.1f, 3.2f, -0.3f, 2.6f, 2.9f, -2.2f, 3.4f, -1.6f,
                                     -2.6f, -2.1f, -3.1f, -2.5f};
static const int toy_new_ys[6] = {0, 0, 1, 1, 2, 2};

static struct fewshot toy_task(float *xq)
{
    memcpy(xq, toy_xs, sizeof toy_xs);
    memcpy(xq + 9 * 2, toy_new, sizeof toy_new);
    return (struct fewshot){.ways = 3, .out_dim = 3, .dim = 2, .n_support = 9, .n_query = 15,
                            .xs = toy_xs, .ys = toy_ys, .xq = xq};
}

static struct fixture_ctx toy_ctx(uint64_t key)
{
    struct fixture_ctx c = {.arch = {2, {0, 8, 0}, ACT_RELU}, .init = INIT_HE};
    rng_stream(&c.rng, 7, RNG_LEARNER, key);
    return c;
}

static void scratch_learns_a_separable_problem(void **state)
{
    float xq[15 * 2];
    struct fewshot t = toy_task(xq);
    struct learner_settings s = settings("scratch");
    s.steps = 50;
    s.optim.lr = 0.05;
    s.n_record = 2;
    s.record_steps[0] = 0, s.record_steps[1] = 50;
    struct fixture_ctx c = toy_ctx(0);
    struct capture cap;
    assert_int_equal(run(&s, &t, &c, &cap), 0);
    assert_int_equal(cap.n, 2);
    assert_true(cap.logits[0] && cap.logits[1]);
    double first = loss_xent(cap.scores[0], toy_ys, 9, 3, NULL, NULL, NULL);
    double last = loss_xent(cap.scores[1], toy_ys, 9, 3, NULL, NULL, NULL);
    int correct = 0;
    loss_xent(cap.scores[1] + 9 * 3, toy_new_ys, 6, 3, NULL, &correct, NULL);
    printf("  scratch: support loss %.4g → %.4g, %d/6 new points right\n", first, last, correct);
    assert_true(first > 0.3);
    assert_true(last < 0.05 * first);
    assert_int_equal(correct, 6);
    assert_true(c.flops > 0);
}

static void scratch_is_a_function_of_its_learner_stream(void **state)
{
    float xq[15 * 2];
    struct fewshot t = toy_task(xq);
    struct learner_settings s = settings("scratch");
    s.steps = 3;
    struct capture a, b, other;
    struct fixture_ctx c = toy_ctx(1);
    assert_int_equal(run(&s, &t, &c, &a), 0);
    c = toy_ctx(1);
    assert_int_equal(run(&s, &t, &c, &b), 0);
    c = toy_ctx(2);
    assert_int_equal(run(&s, &t, &c, &other), 0);
    assert_same_records(&a, &b);
    assert_true(memcmp(a.scores[0], other.scores[0], sizeof(float) * 45) != 0);
}

/* ---- the training loop ---------------------------------------------- */

struct scratch_model {
    const struct mlp *net;
    const int *y;
    int n;
};

static double scratch_loss(const void *arg, const double *x)
{
    const struct scratch_model *sm = arg;
    double scores[MAX_ROWS * MAX_WIDTH];
    ref_forward_d(sm->net, x, sm->n, sm->net->arch.n_layers, scores);
    return ref_xent(scores, sm->y, sm->n, sm->net->arch.sizes[sm->net->arch.n_layers]);
}

/* With no step, scratch reports its fresh network: the experiment's
 * architecture initialised from the learner stream, nothing trained. */
static void zero_steps_record_step_zero_without_training(void **state)
{
    struct fewshot t = small_task();
    struct learner_settings s = settings("scratch");
    s.steps = 0;
    struct fixture_ctx c = {.arch = small_arch, .init = INIT_TORCH};
    rng_stream(&c.rng, 5, RNG_LEARNER, 9);
    struct rng copy = c.rng;
    struct capture cap;
    assert_int_equal(run(&s, &t, &c, &cap), 0);
    assert_int_equal(cap.n, 1);
    assert_int_equal(cap.step[0], 0);
    assert_true(cap.logits[0]);
    struct mlp_arch a = small_arch;
    a.sizes[a.n_layers] = 3;   // the episode's ways
    struct mlp net;
    struct err e;
    assert_int_equal(mlp_init(&net, &a, &e), 0);
    mlp_init_params(&net, INIT_TORCH, &copy);
    double out[4 * 3];
    double margin = ref_forward(&net, t.xq, 4, 2, out);
    for (int i = 0; i < 12; i++)
        assert_close(cap.scores[0][i], out[i], 1e-6, 1e-5);
    // its input gradient against the fresh network's loss, in double
    assert_true(margin > 1e-3);   // no pre-activation on the ReLU kink
    c.flops = 0;
    rng_stream(&c.rng, 5, RNG_LEARNER, 9);
    struct learner_model *m;
    struct learner *l = run_kept(&s, &t, &c, &cap, &m);
    static const int yq[4] = {1, 2, 0, 2};
    struct scratch_model sm = {&net, yq, 4};
    double err = input_grad_vs(m, t.xq, yq, 4, 3, scratch_loss, &sm);
    printf("  scratch: input gradient within %.2g of double-precision differences\n", err);
    assert_true(err < 1e-4);
    learner_free(l);
    mlp_free(&net);
}

static void divergence_is_reported_as_non_finite_scores(void **state)
{
    float xq[15 * 2];
    struct fewshot t = toy_task(xq);
    struct learner_settings s = settings("scratch");
    s.steps = 30;
    // SGD: Adam's step is bounded by lr per element, so even lr 1e6 leaves
    // Adam's scores finite on this problem; plain gradient steps explode
    s.optim.kind = OPTIM_SGD;
    s.optim.lr = 1e6;
    s.n_record = 2;
    s.record_steps[0] = 0, s.record_steps[1] = 30;
    struct fixture_ctx c = toy_ctx(3);
    struct capture cap;
    assert_int_equal(run(&s, &t, &c, &cap), 0);
    assert_int_equal(cap.n, 2);
    assert_true(all_finite(cap.scores[0], cap.n_scores));
    assert_false(all_finite(cap.scores[1], cap.n_scores));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(probe_trains_the_head_only_as_an_independent_adam_would),
        cmocka_unit_test(frozen_prefix_matches_training_the_whole_network_bit_for_bit),
        cmocka_unit_test(the_final_step_and_the_listed_ones_are_recorded),
        cmocka_unit_test(regression_keeps_the_pretrained_head_and_fits_it_by_mse),
        cmocka_unit_test(scratch_learns_a_separable_problem),
        cmocka_unit_test(scratch_is_a_function_of_its_learner_stream),
        cmocka_unit_test(zero_steps_record_step_zero_without_training),
        cmocka_unit_test(divergence_is_reported_as_non_finite_scores),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
