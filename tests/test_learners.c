/* test_learners: the registry and prototypes on hand-built episodes,
 * against independent references: naive double loops through the
 * documented parameter layout for features, class means and distances;
 * the sums over features both distance kinds use; plus the contracts of
 * learner.h every kind keeps: a recorder's error stops it with its code, a
 * pretrained network of another shape is refused, the shared pretrained
 * network is never written. Finetune, scratch and learner_train are
 * test_finetune's, knn test_knn's. */
#include "testutil.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "harness/base/rng.h"
#include "harness/config.h"
#include "learners/learner.h"
#include "learners/learner_impl.h"
#include "learners/trainer.h"
#include "learners/loss.h"
#include "learners/mlp.h"
#include "learnertest.h"

/* ---- registry ------------------------------------------------------- */

static void registry_finds_each_kind_and_says_what_needs_pretraining(void **state)
{
    static const char *names[] = {"scratch", "finetune", "prototypes", "knn", "reptile",
                                  "maml", "fomaml", "anil", "metasgd"};
    assert_int_equal(learner_n_kinds, 9);
    for (int i = 0; i < 9; i++) {
        int k = learner_find(names[i]);
        assert_true(k >= 0 && k < learner_n_kinds);
        const struct learner_kind *kind = learner_kinds[k];
        assert_string_equal(kind->name, names[i]);
        assert_non_null(kind->init);
        assert_non_null(kind->adapt);
        assert_non_null(kind->predict);
        assert_non_null(kind->cost);
        assert_true(strlen(kind->summary) > 10);
        /* a kind with its own pretraining says how, per shot count or not, at what cost */
        struct learner_settings s;
        struct err e;
        assert_int_equal(config_learner_defaults(k, &s, &e), 0);
        bool own = kind->pretraining(&s) == PRETRAIN_OWN;
        assert_int_equal(kind->pretrain != NULL, own);
        assert_int_equal(kind->per_shots != NULL, own);
        assert_int_equal(kind->pretrain_cost != NULL, own);
        /* every key it lists is a learner key, and a default "=k" names a key of its type */
        for (const struct kind_key *kk = kind->keys; kk->name; kk++) {
            const struct keydef *d = NULL, *from = NULL;
            const char *def = learner_key_default(k, kk->name);
            for (int j = 0; j < learner_n_keys; j++) {
                if (strcmp(learner_keys[j].name, kk->name) == 0)
                    d = &learner_keys[j];
                if (def && def[0] == '=' && strcmp(learner_keys[j].name, def + 1) == 0)
                    from = &learner_keys[j];
            }
            if (!d)
                fail_msg("%s lists key %s, which learner_keys[] lacks", kind->name, kk->name);
            assert_non_null(def);
            if (def[0] == '=' && (!from || from->type != d->type || !learner_key_default(k, def + 1)))
                fail_msg("%s: %s defaults to %s, not a key of its type that it has", kind->name,
                         kk->name, def + 1);
        }
    }
    assert_int_equal(learner_find("protonet"), -1);
    assert_int_equal(learner_find("Scratch"), -1);
    assert_int_equal(learner_find("knn "), -1);
    assert_int_equal(learner_find(""), -1);

#define KIND(name) learner_kinds[learner_find(name)]
    struct learner_settings s = settings("scratch");
    s.space = SPACE_FEATURES;  // a knn-only setting changes nothing for scratch
    assert_int_equal(KIND("scratch")->pretraining(&s), PRETRAIN_NONE);
    for (int f = FREEZE_NONE; f <= FREEZE_LAYERS; f++) {
        s.freeze = f;
        assert_int_equal(KIND("finetune")->pretraining(&s), PRETRAIN_SHARED);
    }
    s.distance = DIST_COSINE;
    assert_int_equal(KIND("prototypes")->pretraining(&s), PRETRAIN_SHARED);
    s.space = SPACE_FEATURES;
    assert_int_equal(KIND("knn")->pretraining(&s), PRETRAIN_SHARED);
    s.space = SPACE_INPUT;
    assert_int_equal(KIND("knn")->pretraining(&s), PRETRAIN_NONE);

    assert_false(KIND("scratch")->classification_only);
    assert_false(KIND("finetune")->classification_only);
    assert_true(KIND("prototypes")->classification_only);
    assert_true(KIND("knn")->classification_only);
    assert_null(KIND("knn")->input_grad);   // votes have no gradient
    assert_false(KIND("knn")->logits);
    /* the meta-learners meta-train their own, one per evaluated shot count
     * unless told a count; those meta-trained by gradient read query sets */
    static const char *meta[] = {"reptile", "maml", "fomaml", "anil", "metasgd"};
    for (int i = 0; i < 5; i++) {
        s = settings(meta[i]);
        assert_int_equal(KIND(meta[i])->pretraining(&s), PRETRAIN_OWN);
        s.meta.shots = 0;
        assert_true(KIND(meta[i])->per_shots(&s));
        s.meta.shots = 5;
        assert_false(KIND(meta[i])->per_shots(&s));
        assert_int_equal(learner_key_default(learner_find(meta[i]), "meta.queries") != NULL,
                         i > 0);
    }
    /* the test-time defaults: plain SGD from the inner loop (Meta-SGD: its rates) */
    struct err e;
    assert_int_equal(config_learner_defaults(learner_find("maml"), &s, &e), 0);
    assert_int_equal(s.optim.kind, OPTIM_SGD);
    assert_int_equal(s.steps, s.meta.inner_steps);
    assert_true(s.optim.lr == s.meta.inner_lr);
    assert_int_equal(s.meta.optimizer, OPTIM_ADAM);
    assert_null(learner_key_default(learner_find("metasgd"), "lr"));
    assert_null(learner_key_default(learner_find("metasgd"), "meta.inner_lr"));
#undef KIND
}

/* ---- prototypes ----------------------------------------------------- */

/* Class means (ways, fdim) of the reference features of the support set. */
static void ref_means(const double *fs, const int *ys, int n, int ways, int fdim, double *mu)
{
    int count[MAX_WIDTH] = {0};
    memset(mu, 0, sizeof *mu * (size_t)(ways * fdim));
    for (int i = 0; i < n; i++) {
        count[ys[i]]++;
        for (int j = 0; j < fdim; j++)
            mu[ys[i] * fdim + j] += fs[i * fdim + j];
    }
    for (int c = 0; c < ways; c++)
        for (int j = 0; j < fdim; j++)
            mu[c * fdim + j] /= count[c];
}

/* Prototypes in double: the pretrained body's features, the class means of
 * the support set's, and the cross-entropy of the logits. */
struct proto_model {
    const struct mlp *pre;
    const double *mu;    /* (ways, fdim) */
    int ways, fdim;
    bool cosine;
    const int *y;
    int n;
};

static double proto_loss(const void *arg, const double *x)
{
    const struct proto_model *pm = arg;
    double f[MAX_ROWS * MAX_WIDTH], z[MAX_ROWS * MAX_WIDTH];
    ref_forward_d(pm->pre, x, pm->n, pm->pre->arch.n_layers - 1, f);
    for (int i = 0; i < pm->n; i++)
        for (int k = 0; k < pm->ways; k++) {
            double d2 = 0, dot = 0, nf = 0, nm = 0;
            for (int j = 0; j < pm->fdim; j++) {
                double a = f[i * pm->fdim + j], b = pm->mu[k * pm->fdim + j];
                d2 += (a - b) * (a - b), dot += a * b, nf += a * a, nm += b * b;
            }
            z[i * pm->ways + k] = pm->cosine ? dot / sqrt(nf * nm) : -d2;
        }
    return ref_xent(z, pm->y, pm->n, pm->ways);
}

/* The model's input gradient against proto_loss's central differences. */
static void check_proto_input_grad(const struct learner_settings *s, const struct fewshot *t,
                                   struct mlp *pre, const double *mu)
{
    struct fixture_ctx c = {.pretrained = pre};
    struct capture cap;
    struct learner_model *m;
    struct learner *l = run_kept(s, t, &c, &cap, &m);
    static const int yq[4] = {2, 1, 0, 1};
    struct proto_model pm = {pre, mu, 3, 4, s->distance == DIST_COSINE, yq, 4};
    double err = input_grad_vs(m, t->xq, yq, 4, 3, proto_loss, &pm);
    print_message("  prototypes (%s): input gradient within %.2g of double-precision "
                  "differences\n", pm.cosine ? "cosine" : "euclidean", err);
    assert_true(err < 1e-4);
    learner_free(l);
}

static void prototypes_euclidean_scores_are_minus_squared_distances(void **state)
{
    struct mlp pre;
    struct snapshot before;
    struct fewshot t = small_fixture(&pre, &before);
    double fs[5 * 4], fq[4 * 4], mu[3 * 4];
    double margin = fmin(ref_forward(&pre, t.xs, 5, 1, fs), ref_forward(&pre, t.xq, 4, 1, fq));
    assert_true(margin > 0.01);  // no feature sits on the ReLU kink
    ref_means(fs, t.ys, 5, 3, 4, mu);

    struct learner_settings s = settings("prototypes");
    struct fixture_ctx c = {.pretrained = &pre};
    struct capture cap;
    assert_int_equal(run(&s, &t, &c, &cap), 0);
    assert_int_equal(cap.n, 1);
    assert_int_equal(cap.step[0], -1);
    assert_true(cap.logits[0]);
    // at least the two body forwards: 2·rows·3·4 multiply-adds
    assert_true(c.flops >= 2ull * (5 + 4) * 3 * 4);
    double spread = 0;
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 3; k++) {
            double d2 = 0;
            for (int j = 0; j < 4; j++)
                d2 += (fq[i * 4 + j] - mu[k * 4 + j]) * (fq[i * 4 + j] - mu[k * 4 + j]);
            assert_close(cap.scores[0][i * 3 + k], -d2, 1e-6, 1e-5);
            spread = fmax(spread, d2);
        }
    assert_true(spread > 0.1);  // the distances are not all alike
    assert_unchanged(&before, &pre);
    check_proto_input_grad(&s, &t, &pre, mu);
    mlp_free(&pre);
}

static void prototypes_cosine_scores_are_cosines_to_the_class_means(void **state)
{
    struct mlp pre;
    small_net(&pre);
    struct fewshot t = small_task();
    double fs[5 * 4], fq[4 * 4], mu[3 * 4];
    ref_forward(&pre, t.xs, 5, 1, fs);
    ref_forward(&pre, t.xq, 4, 1, fq);
    ref_means(fs, t.ys, 5, 3, 4, mu);

    struct learner_settings s = settings("prototypes");
    s.distance = DIST_COSINE;
    struct fixture_ctx c = {.pretrained = &pre};
    struct capture cap;
    assert_int_equal(run(&s, &t, &c, &cap), 0);
    assert_int_equal(cap.n, 1);
    assert_int_equal(cap.step[0], -1);
    assert_true(cap.logits[0]);
    assert_true(c.flops > 0);
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 3; k++) {
            double dot = 0, nq = 0, nm = 0;
            for (int j = 0; j < 4; j++) {
                dot += fq[i * 4 + j] * mu[k * 4 + j];
                nq += fq[i * 4 + j] * fq[i * 4 + j];
                nm += mu[k * 4 + j] * mu[k * 4 + j];
            }
            assert_close(cap.scores[0][i * 3 + k], dot / sqrt(nq * nm), 1e-6, 1e-5);
        }
    check_proto_input_grad(&s, &t, &pre, mu);
    mlp_free(&pre);
}

/* With no hidden layer the body is empty: the features are the inputs. */
static void prototypes_of_a_headonly_network_use_the_inputs(void **state)
{
    const struct mlp_arch a = {1, {2, 5}, ACT_RELU};
    struct mlp pre;
    net_formula(&pre, &a, 0.3);
    const float xs[4 * 2] = {0, 0, 0, 2, 4, 0, 4, 2};  // means (0, 1) and (4, 1)
    const int ys[4] = {0, 0, 1, 1};
    const float xq[2 * 2] = {1, 1, 3, -1};
    struct fewshot t = {.ways = 2, .out_dim = 2, .dim = 2, .n_support = 4, .n_query = 2,
                        .xs = xs, .ys = ys, .xq = xq};
    struct learner_settings s = settings("prototypes");
    struct fixture_ctx c = {.pretrained = &pre};
    struct capture cap;
    assert_int_equal(run(&s, &t, &c, &cap), 0);
    const float want[4] = {-1, -9, -13, -5};
    for (int i = 0; i < 4; i++)
        assert_close(cap.scores[0][i], want[i], 0, 0);
    mlp_free(&pre);
}

/* ---- every kind: the lifecycle's contracts ---------------------------- */

/* Mean loss of the model's scores for x: cross-entropy against y, or MSE
 * against t; in double from the model's float scores. */
static double model_loss(struct learner_model *m, const float *x, int n, int out, const int *y,
                         const float *t)
{
    float scores[MAX_SCORES];
    struct err e;
    assert_int_equal(model_predict(m, x, n, scores, &e), 0);
    return y ? loss_xent(scores, y, n, out, NULL, NULL, NULL)
             : loss_mse(scores, t, n, out, NULL, NULL);
}

/* The input gradient of m on (x, y or t) against central differences of the
 * loss; h large enough that float rounding of the scores (relative 6e-8)
 * stays far below the truncation error. Returns the largest difference
 * relative to the largest gradient entry. */
static double input_grad_error(struct learner_model *m, const float *x0, int n, int dim, int out,
                               const int *y, const float *t)
{
    float x[MAX_ROWS * 4], dx[MAX_ROWS * 4];
    struct err e;
    assert_true(n * dim <= MAX_ROWS * 4);
    memcpy(x, x0, sizeof(float) * (size_t)(n * dim));
    double loss;
    assert_int_equal(model_input_grad(m, x, y, t, n, dx, &loss, &e), 0);
    assert_close(loss, model_loss(m, x, n, out, y, t), 1e-12, 1e-6);
    double worst = 0, largest = 0;
    for (int j = 0; j < n * dim; j++) {
        const float h = 1e-2f, keep = x[j];
        x[j] = keep + h;
        double up = model_loss(m, x, n, out, y, t);
        x[j] = keep - h;
        double down = model_loss(m, x, n, out, y, t);
        x[j] = keep;
        double fd = (up - down) / (2.0 * ((double)(keep + h) - (double)keep));
        worst = fmax(worst, fabs(fd - dx[j]));
        largest = fmax(largest, fabs(dx[j]));
    }
    assert_true(largest > 1e-3);   // not a vanishing gradient that matches anything
    return worst / largest;
}

static void every_kind_keeps_the_lifecycles_contracts(void **state)
{
    /* a smooth (tanh) pretrained network, so central differences apply */
    const struct mlp_arch a = {3, {3, 5, 4, 2}, ACT_TANH};
    struct mlp pre;
    net_formula(&pre, &a, 0.4);
    struct snapshot before;
    snap(&before, &pre);
    struct fewshot t = small_task();
    const float ts[5] = {0.5f, -0.2f, 1.0f, 0.3f, -0.7f}, tq[4] = {0.1f, 0.4f, -0.5f, 0.9f};
    const int yq[4] = {0, 1, 2, 1};
    for (int k = 0; k < learner_n_kinds; k++) {
        const struct learner_kind *kind = learner_kinds[k];
        for (int regression = 0; regression <= !kind->classification_only; regression++) {
            struct learner_settings s;
            struct err e;
            assert_int_equal(config_learner_defaults(k, &s, &e), 0);   // the kind's defaults
            s.steps = 3;
            s.optim.lr = 0.05;
            struct fewshot ep = t;
            struct mlp reg;
            const struct mlp *net = &pre;
            if (regression) {   // a network with one output: regression keeps the head
                const struct mlp_arch ra = {3, {3, 5, 4, 1}, ACT_TANH};
                net_formula(&reg, &ra, 0.4);
                net = &reg;
                ep.ways = 0, ep.out_dim = 1, ep.ys = NULL, ep.ts = ts;
            }
            struct fixture_ctx c = {.pretrained = net, .arch = {3, {3, 5, 4, 0}, ACT_TANH},
                                    .init = INIT_GLOROT};
            c.arch.sizes[3] = ep.out_dim;
            rng_stream(&c.rng, 3, RNG_LEARNER, (uint64_t)k);
            struct capture cap;
            /* run() checks that predict on the model adapt returns gives exactly the
             * scores recorded after the last step */
            assert_int_equal(run(&s, &ep, &c, &cap), 0);
            assert_true(cap.n >= 1);
            assert_true(c.flops > 0);
            assert_unchanged(&before, &pre);
            /* and the model's input gradient is that of its loss */
            struct learner_env env = test_env(net, &c.arch, INIT_GLOROT);
            struct learner *l = learner_new(&s, &env, &ep, &e);
            struct learner_model *m;
            rng_stream(&c.rng, 3, RNG_LEARNER, (uint64_t)k);
            assert_int_equal(learner_adapt(l, &ep, &c.rng, capture_record, &cap, &m, &e), 0);
            assert_int_equal(model_has_input_grad(m), kind->input_grad != NULL);
            if (kind->input_grad) {
                double err = input_grad_error(m, ep.xq, 4, 3, ep.out_dim, regression ? NULL : yq,
                                              regression ? tq : NULL);
                print_message("  %-10s %s: input gradient within %.2g of central differences\n",
                              kind->name, regression ? "regression    " : "classification", err);
                assert_true(err < 2e-3);
                /* a batch larger than the workspaces goes through in chunks, each
                 * row's gradient the same, weighted by the whole batch */
                float x12[12 * 3], dx12[12 * 3], dx4[4 * 3], t12[12];
                int y12[12];
                for (int r = 0; r < 12; r++) {
                    memcpy(x12 + 3 * r, ep.xq + 3 * (r % 4), sizeof(float) * 3);
                    y12[r] = yq[r % 4], t12[r] = tq[r % 4];
                }
                double l12, l4;
                assert_int_equal(model_input_grad(m, x12, y12, t12, 12, dx12, &l12, &e), 0);
                assert_int_equal(model_input_grad(m, ep.xq, yq, tq, 4, dx4, &l4, &e), 0);
                assert_close(l12, l4, 1e-7, 1e-6);
                for (int j = 0; j < 12 * 3; j++)
                    assert_close(dx12[j] * 3, dx4[j % 12], 1e-7, 1e-5);
                /* right after a predict of the same rows, the gradient may reuse
                 * its forward pass: the same bits, a forward's operations fewer
                 * for the trained kinds; anything run since (here another
                 * gradient) makes it compute the forward again */
                float sc[4 * 8], dxp[4 * 3], dxq[4 * 3];
                double lp, lq;
                assert_int_equal(model_predict(m, ep.xq, 4, sc, &e), 0);
                uint64_t f0 = learner_flops(l);
                assert_int_equal(model_input_grad_predicted(m, ep.xq, yq, tq, 4, dxp, &lp, &e), 0);
                uint64_t f1 = learner_flops(l);
                assert_int_equal(model_input_grad(m, ep.xq, yq, tq, 4, dx4, &l4, &e), 0);
                uint64_t f2 = learner_flops(l);
                assert_int_equal(model_input_grad_predicted(m, ep.xq, yq, tq, 4, dxq, &lq, &e), 0);
                uint64_t f3 = learner_flops(l);
                assert_memory_equal(dxp, dx4, sizeof dxp);
                assert_memory_equal(dxq, dx4, sizeof dxq);
                assert_true(lp == l4 && lq == l4);
                assert_int_equal(f3 - f2, f2 - f1);
                if (kind->input_grad == trainer_kind_input_grad)
                    assert_true(f1 - f0 < f2 - f1);
                else
                    assert_int_equal(f1 - f0, f2 - f1);
            } else {
                float dx[12];
                assert_int_equal(model_input_grad(m, ep.xq, yq, NULL, 4, dx, NULL, &e), ERR_USAGE);
                assert_contains(e.msg, "no input gradient");
            }
            learner_free(l);
            if (regression)
                mlp_free(&reg);
        }
    }
    mlp_free(&pre);
}

/* An attack's gradient right after the evaluation's predict reuses its
 * forward pass even when forgetting's sample went through the adapted body
 * in between, unless that ran through a frozen prefix (whose work then
 * holds the sample's rows): finetune with nothing and with layer 0 frozen,
 * the gradient's bits and loss those of one computed afresh either way. */
static void forgetting_between_predict_and_attack(void **state)
{
    const struct mlp_arch a = {3, {3, 5, 4, 2}, ACT_TANH};
    struct mlp pre;
    net_formula(&pre, &a, 0.4);
    struct fewshot ep = small_task();
    const int yq[4] = {0, 1, 2, 1};
    float x12[12 * 3], fb[12 * 8], sc[4 * 8], fresh[4 * 3], reused[4 * 3];
    for (int r = 0; r < 12; r++)
        for (int j = 0; j < 3; j++)
            x12[3 * r + j] = 0.1f * (float)(r - j);
    for (int frozen = 0; frozen < 2; frozen++) {
        struct learner_settings s;
        struct err e;
        assert_int_equal(config_learner_defaults(learner_find("finetune"), &s, &e), 0);
        s.steps = 3;
        if (frozen)
            s.freeze = FREEZE_LAYERS, s.n_frozen = 1, s.frozen[0] = 0;
        struct learner_env env = test_env(&pre, &a, INIT_GLOROT);
        struct learner *l = learner_new(&s, &env, &ep, &e);
        assert_non_null(l);
        assert_int_equal(((const struct trainer *)l->state)->prefix.upto, frozen);
        struct learner_model *m;
        struct capture cap;
        capture_init(&cap, &ep);
        struct rng r;
        rng_stream(&r, 5, RNG_LEARNER, (uint64_t)frozen);
        assert_int_equal(learner_adapt(l, &ep, &r, capture_record, &cap, &m, &e), 0);
        double lf, lr;
        const uint64_t f0 = learner_flops(l);
        assert_int_equal(model_input_grad(m, ep.xq, yq, NULL, 4, fresh, &lf, &e), 0);
        const uint64_t f1 = learner_flops(l);
        assert_int_equal(model_predict(m, ep.xq, 4, sc, &e), 0);
        const uint64_t f2 = learner_flops(l);
        assert_int_equal(model_body(m, x12, 12, fb, &e), 0);
        const uint64_t f3 = learner_flops(l);
        assert_int_equal(model_input_grad_predicted(m, ep.xq, yq, NULL, 4, reused, &lr, &e), 0);
        const uint64_t f4 = learner_flops(l);
        assert_memory_equal(reused, fresh, sizeof fresh);
        assert_true(lr == lf);
        /* reused, the gradient counts its fresh operations less the predict's */
        const uint64_t fresh_ops = f1 - f0, predict_ops = f2 - f1, ops = f4 - f3;
        assert_true(predict_ops > 0);
        assert_int_equal(ops, frozen ? fresh_ops : fresh_ops - predict_ops);
        learner_free(l);
    }
    mlp_free(&pre);
}

/* ---- features of frozen layers, computed once ------------------------ */

/* Each configuration of a kind: how many layers it says are frozen, and
 * (when any) that handing it the rows through them instead of the rows —
 * what the harness does with its per-image table — gives every recorded
 * score bit for bit. */
static void kinds_with_frozen_layers_give_the_same_scores_from_features(void **state)
{
    const struct mlp_arch a = {3, {3, 6, 5, 3}, ACT_RELU};
    struct mlp pre;
    net_formula(&pre, &a, 0.3);
    struct snapshot before;
    snap(&before, &pre);
    struct fewshot t = small_task();
    struct config {
        const char *kind;
        int freeze, n_frozen, frozen0, distance, space;
        int depth;   /* expected learner_frozen */
    } configs[] = {
        {"finetune", FREEZE_NONE, 0, 0, 0, 0, 0},
        {"finetune", FREEZE_BODY, 0, 0, 0, 0, 2},
        {"finetune", FREEZE_LAYERS, 1, 0, 0, 0, 1},
        {"finetune", FREEZE_LAYERS, 1, 1, 0, 0, 0},   /* not at the bottom: no prefix */
        {"prototypes", 0, 0, 0, DIST_EUCLIDEAN, 0, 2},
        {"prototypes", 0, 0, 0, DIST_COSINE, 0, 2},
        {"knn", 0, 0, 0, DIST_EUCLIDEAN, SPACE_FEATURES, 2},
        {"knn", 0, 0, 0, DIST_COSINE, SPACE_FEATURES, 2},
        {"knn", 0, 0, 0, DIST_EUCLIDEAN, SPACE_INPUT, 0},
        {"scratch", 0, 0, 0, 0, 0, 0},
        {"reptile", 0, 0, 0, 0, 0, 0},
        {"maml", 0, 0, 0, 0, 0, 0},
        {"fomaml", 0, 0, 0, 0, 0, 0},
        {"anil", 0, 0, 0, 0, 0, 2},   /* the meta-learned body, frozen at test time */
        {"metasgd", 0, 0, 0, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++) {
        const struct config *cf = &configs[i];
        struct learner_settings s = settings(cf->kind);
        s.steps = 5, s.optim.lr = 0.05;
        s.freeze = cf->freeze, s.n_frozen = cf->n_frozen, s.frozen[0] = cf->frozen0;
        s.distance = cf->distance, s.space = cf->space;
        const int depth = learner_frozen(&s, &a);
        print_message("  %-10s config %zu: %d frozen layer%s\n", cf->kind, i, depth,
                      depth == 1 ? "" : "s");
        assert_int_equal(depth, cf->depth);
        assert_int_equal(learner_frozen(&s, NULL), 0);   // no network, nothing frozen
        struct fixture_ctx c = {.pretrained = &pre, .arch = a, .init = INIT_GLOROT};
        c.arch.sizes[3] = t.out_dim;
        struct err e;
        err_clear(&e);
        float fs[MAX_SCORES], fq[MAX_SCORES];
        struct fewshot ft = t;
        ft.xs = ft.xq = NULL, ft.fs = fs, ft.fq = fq;
        if (depth == 0) {   // features are refused, naming the kind
            struct learner_env env = test_env(&pre, &c.arch, c.init);
            struct learner *l = learner_new(&s, &env, &t, &e);
            assert_non_null(l);
            ft.xs = t.xs, ft.xq = t.xq;
            struct capture cap;
            capture_init(&cap, &t);
            rng_stream(&c.rng, 5, RNG_LEARNER, i);
            assert_int_equal(learner_adapt(l, &ft, &c.rng, capture_record, &cap, NULL, &e),
                             ERR_USAGE);
            assert_contains(e.msg, cf->kind);
            learner_free(l);
            continue;
        }
        uint64_t f0 = 0, f1 = 0;
        assert_int_equal(learner_features(&pre, depth, t.xs, t.n_support, fs, &f0, &e), 0);
        assert_int_equal(learner_features(&pre, depth, t.xq, t.n_query, fq, &f1, &e), 0);
        assert_int_equal(f0, (uint64_t)t.n_support * mlp_forward_flops(&a, depth));
        struct capture from_rows, from_features;
        rng_stream(&c.rng, 5, RNG_LEARNER, i);
        assert_int_equal(run(&s, &t, &c, &from_rows), 0);
        uint64_t rows_flops = c.flops;
        c.flops = 0;
        rng_stream(&c.rng, 5, RNG_LEARNER, i);
        assert_int_equal(run(&s, &ft, &c, &from_features), 0);
        assert_int_equal(from_rows.n, from_features.n);
        for (int r = 0; r < from_rows.n; r++) {
            assert_int_equal(from_rows.step[r], from_features.step[r]);
            assert_memory_equal(from_rows.scores[r], from_features.scores[r],
                                sizeof(float) * from_rows.n_scores);
        }
        /* the frozen layers' work is the table's now: the learner does less */
        assert_true(c.flops < rows_flops);
        assert_unchanged(&before, &pre);
    }
    mlp_free(&pre);
}

/* ---- FLOPs: the counter against the closed form ---------------------- */

/* Operations of a forward of B rows through arch (mlp.h's convention). */
static uint64_t fwd(const struct mlp_arch *a, uint64_t B)
{
    uint64_t n = 0;
    for (int l = 0; l < a->n_layers; l++) {
        uint64_t in = (uint64_t)a->sizes[l], out = (uint64_t)a->sizes[l + 1];
        n += 2 * B * in * out + B * out + (l < a->n_layers - 1 ? B * out : 0);
    }
    return n;
}

/* ... and of a backward to every layer's gradients, no input gradient. */
static uint64_t bwd(const struct mlp_arch *a, uint64_t B)
{
    uint64_t n = 0;
    for (int l = a->n_layers - 1; l >= 0; l--) {
        uint64_t in = (uint64_t)a->sizes[l], out = (uint64_t)a->sizes[l + 1];
        n += (l < a->n_layers - 1 ? B * out : 0) + 2 * out * in * B + B * out;
        if (l > 0)
            n += 2 * B * out * in;
    }
    return n;
}

static void one_episodes_flops_equal_the_closed_form(void **state)
{
    /* scratch, plain SGD: steps × (forward, cross-entropy with its gradient,
     * backward, 2 per parameter) + one query forward for the final record */
    const struct mlp_arch a = {3, {3, 5, 4, 3}, ACT_RELU};
    struct fewshot t = small_task();
    struct learner_settings s = settings("scratch");
    s.steps = 7, s.optim.kind = OPTIM_SGD, s.optim.lr = 0.1;
    struct learner_env env = test_env(NULL, &a, INIT_HE);
    struct err e;
    struct learner *l = learner_new(&s, &env, &t, &e);
    assert_non_null(l);
    struct capture cap;
    capture_init(&cap, &t);
    struct rng r;
    rng_stream(&r, 1, RNG_LEARNER, 0);
    assert_int_equal(learner_adapt(l, &t, &r, capture_record, &cap, NULL, &e), 0);
    assert_int_equal(cap.n, 1);   /* the final step, predicted once */
    const uint64_t B = (uint64_t)t.n_support, C = 3, P = mlp_arch_params(&a);
    const uint64_t xent = 3 * B * C + 4 * B + 2 + 3 * B * C + 2 * B;
    const uint64_t want = 7 * (fwd(&a, B) + xent + bwd(&a, B) + 2 * P) + fwd(&a, (uint64_t)t.n_query);
    print_message("  scratch, 7 SGD steps on 5 rows: %llu operations counted, %llu by the closed "
                  "form\n", (unsigned long long)learner_flops(l), (unsigned long long)want);
    assert_true(learner_flops(l) == want);
    learner_free(l);
}

/* ---- the recorder's code, errors ------------------------------------ */

static void a_recorder_error_stops_every_learner_with_its_code(void **state)
{
    struct mlp pre;
    small_net(&pre);
    struct fewshot t = small_task();
    for (int k = 0; k < learner_n_kinds; k++) {
        struct learner_settings s = settings(learner_kinds[k]->name);
        s.steps = 4;
        s.n_record = 1;
        s.record_steps[0] = 0;
        struct learner_env env = test_env(&pre, &small_arch, INIT_HE);
        struct rng r;
        rng_stream(&r, 1, RNG_LEARNER, 0);
        struct capture cap;
        capture_init(&cap, &t);
        cap.stop_with = 7;
        struct err e;
        err_clear(&e);
        struct learner *l = learner_new(&s, &env, &t, &e);
        assert_non_null(l);
        char poison;   // adapt must overwrite it
        struct learner_model *m = (struct learner_model *)&poison;
        assert_int_equal(learner_adapt(l, &t, &r, capture_record, &cap, &m, &e), 7);
        assert_int_equal(cap.n, 1);
        assert_null(m);   // no model is handed back from a stopped adaptation
        learner_free(l);
    }
    mlp_free(&pre);
}

static void a_pretrained_network_of_another_shape_is_refused(void **state)
{
    struct mlp pre;
    small_net(&pre);
    const float xs[2 * 2] = {0, 1, 1, 0};
    const int ys[2] = {0, 1};
    struct fewshot t = {.ways = 2, .out_dim = 2, .dim = 2, .n_support = 2, .n_query = 2,
                        .xs = xs, .ys = ys, .xq = xs};
    static const char *kinds[] = {"finetune", "prototypes", "knn"};
    for (int i = 0; i < 3; i++) {
        struct learner_settings s = settings(kinds[i]);
        struct learner_env env = {.pretrained = &pre};
        struct err e;
        err_clear(&e);
        assert_null(learner_new(&s, &env, &t, &e));   // refused before any episode
        assert_int_equal(e.code, ERR_USAGE);
        assert_non_null(strstr(e.msg, "3 inputs"));
    }
    // regression keeps the pretrained head, so its outputs must match too
    const float ts[2 * 2] = {0, 1, 1, 0};
    struct fewshot r = {.ways = 0, .out_dim = 2, .dim = 3, .n_support = 2, .n_query = 1,
                        .xs = small_xq, .ts = ts, .xq = small_xq};
    const struct mlp_arch one = {2, {3, 4, 1}, ACT_RELU};
    struct mlp pre1;
    net_formula(&pre1, &one, 0.1);
    struct learner_settings s = settings("finetune");
    struct learner_env env = {.pretrained = &pre1};
    struct err e;
    err_clear(&e);
    assert_null(learner_new(&s, &env, &r, &e));
    assert_int_equal(e.code, ERR_USAGE);
    assert_non_null(strstr(e.msg, "1 output"));
    mlp_free(&pre1);
    mlp_free(&pre);
}

/* feature_sums against the plain double loop, bit for bit: every sum is
 * accumulated over the features in order whatever the blocking (rows in
 * strips, centres in groups), for row counts below, at and past a strip,
 * centre counts below, at and past a group, dot products, squared
 * distances and norms; rows past m in the scratch are never stored. And
 * feature_pair_sums against feature_sums, on a list of pairs. */
static void feature_sums_equal_the_plain_loop_bit_for_bit(void **state)
{
    static const int ms[] = {1, 11, 16, 17, 75}, ks[] = {1, 3, 4, 5, 25}, ds[] = {1, 7, 128};
    struct rng r;
    rng_stream(&r, 8, RNG_DATA, 0);
    float q[75 * 128], c[25 * 128];
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++)
        q[i] = (float)rng_range(&r, -3, 3);
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        c[i] = (float)rng_range(&r, -3, 3);
    double out[75 * 25 + 1], norms[75 + 1];
    for (int a = 0; a < 5; a++)
        for (int b = 0; b < 5; b++)
            for (int e = 0; e < 3; e++)
                for (int dot = 0; dot < 2; dot++) {
                    const int m = ms[a], k = ks[b], d = ds[e];
                    double *qt = malloc(sizeof *qt * feature_sums_scratch(m, k, d));
                    assert_non_null(qt);
                    out[m * k] = norms[m] = 12345;   /* sentinels just past the results */
                    feature_sums(q, m, c, k, d, dot, qt, out, norms);
                    for (int i = 0; i < m; i++) {
                        double nn = 0;
                        for (int j = 0; j < d; j++)
                            nn += (double)q[i * d + j] * q[i * d + j];
                        assert_true(norms[i] == nn);
                        for (int cc = 0; cc < k; cc++) {
                            double want = 0;
                            for (int j = 0; j < d; j++) {
                                double x = q[i * d + j], y = c[cc * d + j];
                                want += dot ? x * y : (x - y) * (x - y);
                            }
                            if (out[i * k + cc] != want)
                                fail_msg("m %d k %d d %d dot %d: sum (%d, %d) is %.17g, the loop "
                                         "gives %.17g", m, k, d, dot, i, cc, out[i * k + cc], want);
                        }
                    }
                    assert_true(out[m * k] == 12345 && norms[m] == 12345);
                    free(qt);
                    if (dot)
                        continue;
                    /* the same squared distances for every third pair (and
                     * a pair list of every length mod 8), the rest untouched */
                    double pairs[75 * 25];
                    int pick[75 * 25], n = 0;
                    for (int p = 0; p < m * k; p++) {
                        pairs[p] = -1;
                        if (p % 3 == 0)
                            pick[n++] = p;
                    }
                    feature_pair_sums(q, c, k, d, pick, n, pairs);
                    for (int p = 0; p < m * k; p++)
                        if (pairs[p] != (p % 3 ? -1 : out[p]))
                            fail_msg("m %d k %d d %d: pair sum %d is %.17g, not %.17g", m, k, d,
                                     p, pairs[p], p % 3 ? -1 : out[p]);
                }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(registry_finds_each_kind_and_says_what_needs_pretraining),
        cmocka_unit_test(prototypes_euclidean_scores_are_minus_squared_distances),
        cmocka_unit_test(prototypes_cosine_scores_are_cosines_to_the_class_means),
        cmocka_unit_test(prototypes_of_a_headonly_network_use_the_inputs),
        cmocka_unit_test(feature_sums_equal_the_plain_loop_bit_for_bit),
        cmocka_unit_test(every_kind_keeps_the_lifecycles_contracts),
        cmocka_unit_test(forgetting_between_predict_and_attack),
        cmocka_unit_test(kinds_with_frozen_layers_give_the_same_scores_from_features),
        cmocka_unit_test(one_episodes_flops_equal_the_closed_form),
        cmocka_unit_test(a_recorder_error_stops_every_learner_with_its_code),
        cmocka_unit_test(a_pretrained_network_of_another_shape_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
