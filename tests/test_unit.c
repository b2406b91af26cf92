/* test_unit: eval units share feature tables through a cache — a unit
 * that draws the same images through the same frozen layers takes the
 * table another computed (its preparation counts no operations) and writes
 * the same rows as with its own; other shot counts get their own table; an
 * idle table outside the budget is dropped and computed again. */
#include "testutil.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "harness/plan.h"
#include "harness/unit.h"
#include "plantest.h"

enum { LF = 3, LK = 4 };   /* the learners the overrides add after a, s, p */

struct fixture {
    struct plan p;
    struct pretrained pre;
    char *dir;
};

static volatile sig_atomic_t no_stop;

static const struct unit *eval_unit(const struct plan *p, int learner, long shots)
{
    for (int i = 0; i < p->n_units; i++) {
        const struct unit *u = &p->units[i];
        if (u->kind == UNIT_EVAL && u->seed == 0 && u->target == TT && u->learner == learner &&
            u->shots == shots)
            return u;
    }
    fail_msg("no eval unit of learner %d with %ld shots", learner, shots);
    return NULL;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    /* without forgetting rows, a preparation's operations are its table's */
    const char *ovr[] = {"learners.f={kind: finetune, freeze: body, steps: 2}",
                         "learners.k={kind: knn, k: 3}", "targets.t.forgetting=0"};
    plan_ok(&f->p, base_yaml, ovr, 3);
    const struct unit *pu = &f->p.units[eval_unit(&f->p, LP, 1)->pretrain];
    f->dir = testutil_tmpdir();
    char path[4200], *rows = NULL;
    snprintf(path, sizeof path, "%s/pre.ckpt", f->dir);
    struct unit_costs c = {0};
    struct err e;
    err_clear(&e);
    assert_int_equal(unit_pretrain(&f->p, pu, path, &f->pre, &rows, &c, &no_stop, &e), 0);
    free(rows);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    pretrained_free(&f->pre);
    plan_free(&f->p);
    testutil_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Prepare u with tc: the job, and the operations its preparation counted. */
static struct eval_job *prepare(struct fixture *f, const struct unit *u, struct table_cache *tc,
                                uint64_t *flops)
{
    struct eval_job *j = NULL;
    struct unit_costs c = {0};
    struct err e;
    err_clear(&e);
    assert_int_equal(eval_job_new(&f->p, u, &f->pre, tc, &j, &c, &no_stop, &e), 0);
    *flops = c.flops;
    return j;
}

/* Every episode of u's job: its rows (free them). */
static char *rows_of(struct eval_job *j, const struct unit *u, const struct plan *p)
{
    char *rows = NULL;
    struct unit_costs c = {0};
    struct err e;
    err_clear(&e);
    long episodes = p->variants[u->variant].x.targets[u->target].episodes;
    assert_int_equal(eval_job_run(j, 0, episodes, &rows, &c, &no_stop, &e), 0);
    return rows;
}

static void units_drawing_the_same_images_share_one_table(void **state)
{
    struct fixture *f = *state;
    const struct unit *proto = eval_unit(&f->p, LP, 1), *knn = eval_unit(&f->p, LK, 1);
    const struct unit *probe = eval_unit(&f->p, LF, 1), *proto2 = eval_unit(&f->p, LP, 2);
    uint64_t own, shared, flops;
    /* knn alone: its own table, counted */
    struct eval_job *j = prepare(f, knn, NULL, &own);
    char *alone = rows_of(j, knn, &f->p);
    eval_job_free(j);
    assert_true(own > 0);
    struct table_cache *tc = table_cache_new(TABLES_KEPT_BYTES);
    assert_non_null(tc);
    struct eval_job *jp = prepare(f, proto, tc, &flops);
    assert_true(flops == own);   /* the first computes the table: the same images, operations */
    struct eval_job *jk = prepare(f, knn, tc, &shared);
    assert_true(shared == 0);    /* taken while the prototypes unit holds it */
    char *with = rows_of(jk, knn, &f->p);
    assert_string_equal(with, alone);
    eval_job_free(jk), eval_job_free(jp);
    free(with);
    /* kept while no job holds it: the probe takes it after both ended */
    j = prepare(f, probe, tc, &flops);
    assert_true(flops == 0);
    eval_job_free(j);
    /* two shots per class draw other images: a table of its own */
    j = prepare(f, proto2, tc, &flops);
    assert_true(flops > 0);
    eval_job_free(j);
    table_cache_free(tc);
    free(alone);
}

static void an_idle_table_beyond_the_budget_is_computed_again(void **state)
{
    struct fixture *f = *state;
    const struct unit *proto = eval_unit(&f->p, LP, 1), *knn = eval_unit(&f->p, LK, 1);
    struct table_cache *tc = table_cache_new(0);
    assert_non_null(tc);
    uint64_t first, again, held;
    struct eval_job *jp = prepare(f, proto, tc, &first);
    struct eval_job *jk = prepare(f, knn, tc, &held);
    assert_true(first > 0 && held == 0);   /* held by a job: shared whatever the budget */
    char *rows = rows_of(jk, knn, &f->p);
    eval_job_free(jk), eval_job_free(jp);   /* idle now: dropped */
    jk = prepare(f, knn, tc, &again);
    assert_true(again == first);
    char *rebuilt = rows_of(jk, knn, &f->p);
    assert_string_equal(rebuilt, rows);
    eval_job_free(jk);
    table_cache_free(tc);
    free(rows), free(rebuilt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(units_drawing_the_same_images_share_one_table),
        cmocka_unit_test(an_idle_table_beyond_the_budget_is_computed_again),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
