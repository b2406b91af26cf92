/* reptile: an initialisation meta-learned by Reptile (Nichol, Achiam and
 * Schulman 2018), adapted at test time by gradient steps from it.
 *
 * Meta-training is the kind's own pretraining (a unit per setting and, with
 * meta.shots: each, per evaluated shot count). From a fresh network θ, each
 * outer step draws meta.batch tasks from the source; on each, φ starts at θ
 * and takes meta.inner_steps full-batch steps of meta.inner_optimizer at
 * meta.inner_lr on the task's support set; then
 *     θ ← θ + ε · mean over the tasks of (φ_k − θ),    ε = meta.lr,
 * the mean taken in double and rounded once per parameter. With one inner
 * SGD step this is a step of joint training; from two on, the term that
 * sets Reptile apart appears (for a quadratic loss with Hessian H and
 * gradient g at θ, φ₂ − θ = −2αg + α²Hg). Classification tasks have
 * meta.ways of the source's classes, labelled in the order the task drew
 * them, so no output is tied to a class.
 *
 * At test time the network starts at θ — with a new zero head when the
 * target's ways differ from meta.ways — and takes `steps` steps of
 * `optimizer` at `lr`, by default the inner loop's (SGD; metalearn.h's
 * test time, shared with maml). Not here:
 * annealing ε, the transductive batch norm of the original experiments. */
#include "learners/metalearn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness/base/rng.h"

static const struct kind_key keys[] = {
    META_TEST_KEYS, META_KEYS, {"meta.inner_steps", NULL}, {"meta.inner_lr", NULL},
    {"meta.inner_optimizer", NULL}, {"meta.lr", NULL}, {NULL, NULL},
};

/* ---- meta-training ---- */

/* φ ← θ, then the inner loop on ep; returns the loss before the last step. */
static double inner_loop(struct trainer *phi, const struct mlp *theta, const struct fewshot *ep,
                         long steps)
{
    double loss = NAN;
    memcpy(phi->net.params, theta->params, sizeof(float) * theta->n_params);
    optim_reset(&phi->o);
    for (long k = 0; k < steps; k++)
        loss = trainer_step(phi, ep->xs, ep);
    return loss;
}

static int pretrain(const struct learner_settings *s, const struct pretrain_env *env,
                    struct mlp *net, float **extra, size_t *n_extra, struct pretrain_result *res,
                    struct err *e)
{
    const struct learner_source *src = env->src;
    const struct meta_settings *m = &s->meta;
    const int ways = src->classes > 0 ? (int)m->ways : 0;
    const int rows = ways > 0 ? ways * (int)env->shots : (int)env->shots;
    struct trainer phi;
    double *delta = NULL;
    struct optim_settings inner;
    optim_defaults(&inner);
    inner.kind = (enum optim_kind)m->inner_optimizer, inner.lr = m->inner_lr;
    *extra = NULL, *n_extra = 0;
    memset(res, 0, sizeof *res);
    memset(&phi, 0, sizeof phi);
    int rc = mlp_init(net, &env->arch, e);
    if (!rc)
        rc = trainer_init(&phi, &env->arch, NULL, 0, rows, rows, &inner, e);
    if (!rc && !(delta = malloc(sizeof *delta * net->n_params)))
        rc = err_set(e, ERR_NOMEM, "out of memory for the meta-gradient");
    if (rc)
        goto done;
    struct rng g;
    rng_stream(&g, env->seed, RNG_INIT, 0);
    mlp_init_params(net, (enum init_kind)env->init, &g);
    double loss_sum = NAN;
    for (long it = 0; it < m->iterations && !res->diverged; it++) {
        memset(delta, 0, sizeof *delta * net->n_params);
        loss_sum = 0;
        for (long b = 0; b < m->batch; b++) {
            struct fewshot ep;
            if ((rc = src->episode(src->arg, (uint64_t)(it * m->batch + b), ways, (int)env->shots,
                                   0, &ep, e)))
                goto done;
            loss_sum += inner_loop(&phi, net, &ep, m->inner_steps);
            for (size_t i = 0; i < net->n_params; i++)
                delta[i] += (double)phi.net.params[i] - (double)net->params[i];
            res->examples += rows;
        }
        for (size_t i = 0; i < net->n_params; i++)
            net->params[i] = (float)((double)net->params[i] + m->lr * delta[i] / (double)m->batch);
        /* φ − θ and its sum per task, the mean and step once */
        net->flops += (uint64_t)net->n_params * (2 * (uint64_t)m->batch + 3);
        res->diverged = !isfinite(loss_sum);
        if (*env->stop) {
            rc = err_set(e, ERR_STOPPED, "stopped");
            goto done;
        }
    }
    res->train_loss = loss_sum / (double)m->batch;
done:
    net->flops += phi.net.flops;
    trainer_free(&phi);
    free(delta);
    if (rc)
        mlp_free(net);
    return rc;
}

static uint64_t pretrain_cost(const struct learner_settings *s, int rows, int qrows,
                              const struct mlp_arch *net)
{
    /* a forward and about twice that backward per inner step and row */
    return (uint64_t)s->meta.iterations * (uint64_t)s->meta.batch * (uint64_t)s->meta.inner_steps *
           (uint64_t)rows * 3 * mlp_forward_flops(net, net->n_layers);
}

const struct learner_kind learner_reptile = {
    .name = "reptile",
    .summary = "an initialisation meta-learned by Reptile on tasks from the source (Nichol et "
               "al. 2018), then gradient steps on the support set",
    .classification_only = false,
    .logits = true,
    .keys = keys,
    META_OWN,
    .init = meta_init,
    .adapt = meta_adapt,
    TRAINER_LIFECYCLE,
};
