/* test_summary: summary.csv's cells, seeds, per-seed and pooled statistics
 * against Python's statistics module and closed-form t quantiles; exact
 * bytes; located errors; the printed table's exact text; agreement with the
 * independent checker tests/check_summary.py. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "harness/columns.h"
#include "harness/csvout.h"
#include "harness/summary.h"

#define HEAD "experiment,variant,seed,source,target,learner,ways,shots,episode,step,probe," \
             "param,metric,value,status\n"

/* t_{0.975,1} = tan(0.475π) and t_{0.975,2} = 0.95/√(2·0.975·0.025)
 * (the t distribution's closed forms for one and two degrees of freedom). */
static const double t1 = 12.706204736174696, t2 = 4.302652729749464;

/* ---- scratch files and reading summary.csv back ---- */

struct files {
    char *dir;
    char episodes[4200], summary[4200];
};

static void files_open(struct files *f, const char *episodes_text)
{
    f->dir = testutil_tmpdir();
    snprintf(f->episodes, sizeof f->episodes, "%s/episodes.csv", f->dir);
    snprintf(f->summary, sizeof f->summary, "%s/summary.csv", f->dir);
    testutil_write(f->episodes, episodes_text, strlen(episodes_text));
}

static void files_close(struct files *f)
{
    testutil_rmtree(f->dir);
    free(f->dir);
}

struct rows {
    char (*f)[17][48];  /* (n) the fields of each data row */
    int n, cap;
};

static int collect(void *ctx, const char *const *fields, int n_fields, long record,
                   struct err *e)
{
    struct rows *r = ctx;
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 16;
        r->f = realloc(r->f, sizeof *r->f * (size_t)r->cap);
        assert_non_null(r->f);
    }
    for (int i = 0; i < n_fields; i++) {
        assert_true(strlen(fields[i]) < 48);
        strcpy(r->f[r->n][i], fields[i]);
    }
    r->n++;
    return 0;
}

static struct rows read_summary(const char *path)
{
    struct rows r = {0};
    struct err e;
    assert_int_equal(columns_summary.n, 17);
    assert_int_equal(columns_read(path, &columns_summary, 0, collect, &r, &e), 0);
    return r;
}

static char *read_text(const char *path)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    char *text = calloc(1, 1 << 16);
    assert_non_null(text);
    size_t n = fread(text, 1, (1 << 16) - 1, fp);
    assert_true(n < (1 << 16) - 1);
    fclose(fp);
    return text;
}

/* Row i is (learner, shots, seed) with n and n_failed, and mean, std, ci95
 * within 1e-8 relative of the reference (summary.csv prints 9 digits);
 * NaN means the field must be empty. */
static void expect_row(const struct rows *r, int i, const char *learner, const char *shots,
                       const char *seed, int n, int n_failed, double mean, double std,
                       double ci95)
{
    assert_true(i < r->n);
    const char(*f)[48] = r->f[i];
    assert_string_equal(f[4], learner);
    assert_string_equal(f[6], shots);
    assert_string_equal(f[11], seed);
    assert_int_equal(atoi(f[12]), n);
    assert_int_equal(atoi(f[13]), n_failed);
    const double want[3] = {mean, std, ci95};
    for (int k = 0; k < 3; k++) {
        if (isnan(want[k])) {
            assert_string_equal(f[14 + k], "");
        } else {
            assert_true(f[14 + k][0] != '\0');
            assert_close(strtod(f[14 + k], NULL), want[k], 1e-12, 1e-8);
        }
    }
}

/* Run tests/check_summary.py on the pair; its exit status, or -1 when
 * python3 or the source root is not available. */
static int python_check_args(const char *episodes, const char *summary, const char *args);

static int python_check(const char *episodes, const char *summary)
{
    return python_check_args(episodes, summary, "");
}

/* ... with more arguments for check_summary.py. */
static int python_check_args(const char *episodes, const char *summary, const char *args)
{
    const char *root = getenv("KSHOT_SOURCE_ROOT");
    if (!root || system("command -v python3 >/dev/null 2>&1") != 0) {
        printf("note: python3 or KSHOT_SOURCE_ROOT missing; check_summary.py not run\n");
        return -1;
    }
    char cmd[13000];
    snprintf(cmd, sizeof cmd, "python3 '%s/tests/check_summary.py' '%s' '%s' %s >/dev/null",
             root, episodes, summary, args);
    int status = system(cmd);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* ---- summary_write ---- */

/* Two learners (one named with a comma), two shots, two seeds, a diverged
 * episode, a cell whose seed 1 comes first, a cell with a single seed. */
static const char *const two_learners =
    HEAD
    "x,base,0,src,tgt,proto,5,1,0,,,,accuracy,0.6,ok\n"
    "x,base,0,src,tgt,\"fine, tuned\",5,1,0,,,,accuracy,0.3,ok\n"   /* cell 2, seed 0 */
    "x,base,0,src,tgt,proto,5,1,1,,,,accuracy,0.8,ok\n"
    "x,base,1,src,tgt,\"fine, tuned\",5,1,0,,,,accuracy,0.45,ok\n"
    "x,base,0,src,tgt,proto,5,1,2,,,,accuracy,0.4,ok\n"
    "x,base,0,src,tgt,proto,5,1,3,,,,accuracy,0.7,ok\n"
    "x,base,0,src,tgt,proto,5,5,0,,,,accuracy,0.9,ok\n"
    "x,base,0,src,tgt,proto,5,5,1,,,,accuracy,0.95,ok\n"
    "x,base,1,src,tgt,proto,5,1,0,,,,accuracy,0.5,ok\n"
    "x,base,1,src,tgt,proto,5,1,1,,,,accuracy,0.9,ok\n"
    "x,base,1,src,tgt,proto,5,1,2,,,,accuracy,,diverged\n"
    "x,base,1,src,tgt,proto,5,1,3,,,,accuracy,0.65,ok\n"
    "x,base,0,src,tgt,\"fine, tuned\",5,1,1,,,,accuracy,0.35,ok\n"
    "x,base,0,src,tgt,\"fine, tuned\",5,1,2,,,,accuracy,0.5,ok\n"
    "x,base,1,src,tgt,proto,5,5,0,,,,accuracy,0.85,ok\n"
    "x,base,1,src,tgt,proto,5,5,1,,,,accuracy,1,ok\n"
    "x,base,1,src,tgt,\"fine, tuned\",5,5,0,,,,accuracy,0.7,ok\n"
    "x,base,1,src,tgt,\"fine, tuned\",5,5,1,,,,accuracy,0.8,ok\n"
    "x,base,1,src,tgt,\"fine, tuned\",5,5,2,,,,accuracy,0.75,ok\n";

/* References from Python 3.11, statistics.mean / statistics.stdev of the
 * values above, ci95 = 1.96·stdev/√n; pooled: mean and stdev of the seed
 * means, ci95 = t_{0.975,1}·stdev/√2. */
static void per_seed_and_pooled_rows(void **state)
{
    struct files f;
    struct err e;
    files_open(&f, two_learners);
    assert_int_equal(summary_write(f.episodes, f.summary, NULL, &e), 0);
    struct rows r = read_summary(f.summary);
    assert_int_equal(r.n, 16);
    const char *ft = "fine, tuned";
    /* proto, 1 shot: seed 0 [0.6 0.8 0.4 0.7]; seed 1 [0.5 0.9 0.65] + one diverged. */
    expect_row(&r, 0, "proto", "1", "0", 4, 0, 0.625, 0.1707825127659933, 0.16736686251067343);
    expect_row(&r, 1, "proto", "1", "1", 3, 1, 0.6833333333333333, 0.20207259421636903,
               0.22866666666666668);
    expect_row(&r, 2, "proto", "1", "all", 7, 1, 0.6541666666666667, 0.041247895569215286,
               t1 * 0.041247895569215286 / sqrt(2));
    /* fine, tuned, 1 shot: seed 0 [0.3 0.35 0.5] first; seed 1 [0.45] alone has no std. */
    expect_row(&r, 3, ft, "1", "0", 3, 0, 0.3833333333333333, 0.10408329997330665,
               0.11778134166515701);
    expect_row(&r, 4, ft, "1", "1", 1, 0, 0.45, NAN, NAN);
    expect_row(&r, 5, ft, "1", "all", 4, 0, 0.41666666666666663, 0.047140452079103196,
               t1 * 0.047140452079103196 / sqrt(2));
    /* proto, 5 shots: equal seed means, so the pooled spread is exactly 0. */
    expect_row(&r, 6, "proto", "5", "0", 2, 0, 0.925, 0.03535533905932733, 0.049);
    expect_row(&r, 7, "proto", "5", "1", 2, 0, 0.925, 0.10606601717798214, 0.147);
    expect_row(&r, 8, "proto", "5", "all", 4, 0, 0.925, 0, 0);
    /* fine, tuned, 5 shots: one seed, and the pooled row repeats it. */
    expect_row(&r, 9, ft, "5", "1", 3, 0, 0.75, 0.05, 0.05658032638058338);
    for (int k = 12; k < 17; k++)
        assert_string_equal(r.f[10][k], r.f[9][k]);
    assert_string_equal(r.f[10][11], "all");
    /* The key columns are carried through. */
    assert_string_equal(r.f[10][0], "x");
    assert_string_equal(r.f[10][2], "src");
    assert_string_equal(r.f[10][5], "5");
    assert_string_equal(r.f[10][10], "accuracy");
    /* Curves over shots 1 and 5, ways 5 (chance 0.2): aulc = (mean of the two
     * means − 0.2)/0.8, one segment; fine, tuned's seed 0 has no 5-shot mean. */
    const double a0 = ((0.625 + 0.925) / 2 - 0.2) / 0.8;
    const double a1 = ((0.6833333333333333 + 0.925) / 2 - 0.2) / 0.8;
    const double am = (a0 + a1) / 2, as = fabs(a0 - a1) / sqrt(2);
    expect_row(&r, 11, "proto", "", "0", 2, 0, a0, NAN, NAN);
    expect_row(&r, 12, "proto", "", "1", 2, 0, a1, NAN, NAN);
    expect_row(&r, 13, "proto", "", "all", 4, 0, am, as, t1 * as / sqrt(2));
    expect_row(&r, 14, ft, "", "1", 2, 0, ((0.45 + 0.75) / 2 - 0.2) / 0.8, NAN, NAN);
    expect_row(&r, 15, ft, "", "all", 2, 0, ((0.45 + 0.75) / 2 - 0.2) / 0.8, NAN, NAN);
    for (int i = 11; i < 16; i++)
        assert_string_equal(r.f[i][10], "aulc");
    int py = python_check(f.episodes, f.summary);
    assert_true(py == 0 || py == -1);
    free(r.f);
    files_close(&f);
}

/* One cell with every key column set, a quoted learner, a diverged episode
 * and a seed with no value at all. Python: seed 3 [1 2], seed 4 [4 8];
 * pooled stdev(1.5, 6) = 3.18198052, ci95 = t_{0.975,1}·3.18198052/√2. */
static void exact_bytes(void **state)
{
    struct files f;
    struct err e;
    files_open(&f, HEAD
               "reg,lr=0.1,3,s,t,\"k,nn\",,2,0,3,fgsm,0.1,mse,1,ok\n"
               "reg,lr=0.1,3,s,t,\"k,nn\",,2,1,3,fgsm,0.1,mse,,diverged\n"
               "reg,lr=0.1,4,s,t,\"k,nn\",,2,0,3,fgsm,0.1,mse,4,ok\n"
               "reg,lr=0.1,5,s,t,\"k,nn\",,2,0,3,fgsm,0.1,mse,,diverged\n"
               "reg,lr=0.1,3,s,t,\"k,nn\",,2,2,3,fgsm,0.1,mse,2,ok\n"
               "reg,lr=0.1,4,s,t,\"k,nn\",,2,1,3,fgsm,0.1,mse,8,ok\n");
    assert_int_equal(summary_write(f.episodes, f.summary, NULL, &e), 0);
    char *text = read_text(f.summary);
    assert_string_equal(text,
        "experiment,variant,source,target,learner,ways,shots,step,probe,param,metric,"
        "seed,n,n_failed,mean,std,ci95\n"
        "reg,lr=0.1,s,t,\"k,nn\",,2,3,fgsm,0.1,mse,3,2,1,1.5,0.707106781,0.98\n"
        "reg,lr=0.1,s,t,\"k,nn\",,2,3,fgsm,0.1,mse,4,2,0,6,2.82842712,3.92\n"
        "reg,lr=0.1,s,t,\"k,nn\",,2,3,fgsm,0.1,mse,5,0,1,,,\n"
        "reg,lr=0.1,s,t,\"k,nn\",,2,3,fgsm,0.1,mse,all,4,2,3.75,3.18198052,28.5889607\n");
    int py = python_check(f.episodes, f.summary);
    assert_true(py == 0 || py == -1);
    free(text);
    /* The checker is not a rubber stamp: a wrong n_failed or mean fails it. */
    const char *tampered[] = {
        "reg,lr=0.1,s,t,\"k,nn\",,2,3,fgsm,0.1,mse,all,4,1,3.75,3.18198052,28.5889607\n",
        "reg,lr=0.1,s,t,\"k,nn\",,2,3,fgsm,0.1,mse,all,4,2,3.76,3.18198052,28.5889607\n",
    };
    for (int i = 0; i < 2 && py == 0; i++) {
        char bad[1024];
        snprintf(bad, sizeof bad, "experiment,variant,source,target,learner,ways,shots,step,"
                 "probe,param,metric,seed,n,n_failed,mean,std,ci95\n"
                 "reg,lr=0.1,s,t,\"k,nn\",,2,3,fgsm,0.1,mse,3,2,1,1.5,0.707106781,0.98\n"
                 "reg,lr=0.1,s,t,\"k,nn\",,2,3,fgsm,0.1,mse,4,2,0,6,2.82842712,3.92\n%s",
                 tampered[i]);
        testutil_write(f.summary, bad, strlen(bad));
        assert_int_equal(python_check(f.episodes, f.summary), 1);
    }
    files_close(&f);
}

/* 400 cells × 3 seeds × 4 episodes, rows interleaved so that every cell
 * and seed is revisited long after it first appeared, and each cell meets
 * its seeds in a different order: the hash tables grow several times.
 * Value of (cell g, seed s, episode k) = g + s/4 + k/8, so a seed's mean is
 * g + s/4 + 3/16 and its std is stdev(0, 1, 2, 3)/8; pooled over the seed
 * means g + 3/16 + {0, 1/4, 1/2}: std 1/4, ci95 = t_{0.975,2}·(1/4)/√3. */
static void many_cells_keep_first_appearance_order(void **state)
{
    enum { G = 400, S = 3, K = 4 };
    size_t cap = 64 * G * S * K + sizeof HEAD, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    len += (size_t)snprintf(text, cap, "%s", HEAD);
    for (int k = 0; k < K; k++)
        for (int g = 0; g < G; g++)
            for (int j = 0; j < S; j++) {
                int s = (g + j) % S;
                len += (size_t)snprintf(text + len, cap - len,
                                        "x,base,%d,s,t,L%d,5,1,%d,,,,accuracy,%.17g,ok\n", s, g, k,
                                        g + s / 4.0 + k / 8.0);
            }
    struct files f;
    struct err e;
    files_open(&f, text);
    free(text);
    assert_int_equal(summary_write(f.episodes, f.summary, NULL, &e), 0);
    struct rows r = read_summary(f.summary);
    assert_int_equal(r.n, G * (S + 1));
    const double seed_std = 1.2909944487358056 / 8;   /* Python: stdev([0, 1, 2, 3]) / 8 */
    for (int g = 0; g < G; g++) {
        char learner[16], seed[8];
        snprintf(learner, sizeof learner, "L%d", g);
        for (int j = 0; j < S; j++) {
            int s = (g + j) % S;
            snprintf(seed, sizeof seed, "%d", s);
            expect_row(&r, g * (S + 1) + j, learner, "1", seed, K, 0, g + s / 4.0 + 3 / 16.0,
                       seed_std, 1.96 * seed_std / 2);
        }
        expect_row(&r, g * (S + 1) + S, learner, "1", "all", S * K, 0, g + 0.25 + 3 / 16.0,
                   0.25, t2 * 0.25 / sqrt(3));
    }
    free(r.f);
    files_close(&f);
}

static void empty_episodes_give_a_header_only(void **state)
{
    struct files f;
    struct err e;
    files_open(&f, HEAD);
    assert_int_equal(summary_write(f.episodes, f.summary, NULL, &e), 0);
    char *text = read_text(f.summary);
    assert_string_equal(text, "experiment,variant,source,target,learner,ways,shots,step,"
                              "probe,param,metric,seed,n,n_failed,mean,std,ci95\n");
    free(text);
    files_close(&f);
}

static void wrong_header_names_the_file(void **state)
{
    struct files f;
    struct err e;
    files_open(&f, "experiment,variant,seeds,source,target,learner,ways,shots,episode,step,"
                   "probe,param,metric,value,status\nx,base,0,s,t,l,5,1,0,,,,accuracy,1,ok\n");
    assert_int_equal(summary_write(f.episodes, f.summary, NULL, &e), ERR_IO);
    char want[4300];
    snprintf(want, sizeof want, "%s: record 1: header column 3 is 'seeds'", f.episodes);
    assert_non_null(strstr(e.msg, want));
    struct stat st;
    assert_int_equal(stat(f.summary, &st), -1);   /* nothing written */
    files_close(&f);
}

static void bad_value_names_file_and_record(void **state)
{
    const char *bad[] = {"0.5x", "nan", " 1", "0,5"};
    for (int i = 0; i < 4; i++) {
        char text[512], field[16], want[4400];
        /* "0,5" needs quotes to stay one field. */
        snprintf(field, sizeof field, i == 3 ? "\"%s\"" : "%s", bad[i]);
        snprintf(text, sizeof text, HEAD "x,base,0,s,t,l,5,1,0,,,,accuracy,0.5,ok\n"
                 "x,base,0,s,t,l,5,1,1,,,,accuracy,%s,ok\n", field);
        struct files f;
        struct err e;
        files_open(&f, text);
        assert_int_equal(summary_write(f.episodes, f.summary, NULL, &e), ERR_IO);
        snprintf(want, sizeof want, "%s: record 3: value '%s' is not a number", f.episodes,
                 bad[i]);
        assert_non_null(strstr(e.msg, want));
        files_close(&f);
    }
    struct err e;
    assert_int_equal(summary_write("/nonexistent/episodes.csv", "/nonexistent/s.csv", NULL, &e),
                     ERR_IO);
    assert_non_null(strstr(e.msg, "/nonexistent/episodes.csv: cannot open"));
}

/* ---- summary_print ---- */

#define SUMMARY_HEAD "experiment,variant,source,target,learner,ways,shots,step,probe,param," \
                     "metric,seed,n,n_failed,mean,std,ci95\n"

/* What summary_print writes for metric; caller frees. */
static char *printed(const char *summary_text, const char *metric, int *rc)
{
    struct files f;
    struct err e;
    files_open(&f, "");
    testutil_write(f.summary, summary_text, strlen(summary_text));
    char *out = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&out, &len);
    assert_non_null(fp);
    *rc = summary_print(f.summary, fp, metric, &e);
    assert_int_equal(fclose(fp), 0);
    files_close(&f);
    return out;
}

/* All variants "base" and no step: those columns are left out. Learners are
 * grouped in order of appearance; per-seed and other metrics' rows are not
 * printed. */
static void print_accuracy_table(void **state)
{
    int rc;
    char *out = printed(SUMMARY_HEAD
        "x,base,s,mnist,proto,5,1,,,,accuracy,0,600,0,0.7,0.1,0.008\n"
        "x,base,s,mnist,proto,5,1,,,,accuracy,all,1200,0,0.75123,0.0005,0.00712\n"
        "x,base,s,mnist,proto,5,1,,,,loss,all,1200,0,1.234,0.1,0.05\n"
        "x,base,s,mnist,\"fine, tuned\",5,1,,,,accuracy,all,1200,3,0.61,0.02,0.1797\n"
        "x,base,s,mnist,proto,5,10,,,,accuracy,all,1200,0,0.9,0.001,0.0123\n"
        "x,base,s,mnist,\"fine, tuned\",5,10,,,,accuracy,all,1200,0,0.8,0.01,0.09\n",
        "accuracy", &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(out,
        "accuracy (mean ± 95% CI over seeds' means, or over episodes with one seed)\n"
        "target  learner      shots     n  mean ± ci95\n"
        "mnist   proto            1  1200  0.7512 ± 0.0071\n"
        "mnist   proto           10  1200  0.9000 ± 0.0123\n"
        "mnist   fine, tuned      1  1200  0.6100 ± 0.1797\n"
        "mnist   fine, tuned     10  1200  0.8000 ± 0.0900\n");
    free(out);
}

/* Variants and steps shown; a single episode has no interval; a cell with
 * no values prints "-"; tiny means switch to exponent notation. */
static void print_variants_steps_and_missing_values(void **state)
{
    const char *text = SUMMARY_HEAD
        "x,base,s,sine,ridge,,5,0,,,mse,all,1,0,0.5,,\n"
        "x,base,s,sine,ridge,,5,10,,,mse,all,20,0,0.25,0.1,0.03\n"
        "x,lr=0.1,s,sine,ridge,,5,0,,,mse,all,0,2,,,\n"
        "x,lr=0.1,s,sine,ridge,,5,10,,,mse,all,20,0,12.5,1,0.75\n"
        "x,base,s,sine,ridge,,5,0,,,tiny,all,20,0,2.5e-05,1e-06,1.5e-06\n";
    int rc;
    char *out = printed(text, "mse", &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(out,
        "mse (mean ± 95% CI over seeds' means, or over episodes with one seed)\n"
        "variant  target  learner  shots  step   n  mean ± ci95\n"
        "base     sine    ridge        5     0   1   0.5000\n"
        "base     sine    ridge        5    10  20   0.2500 ± 0.0300\n"
        "lr=0.1   sine    ridge        5     0   0        -\n"
        "lr=0.1   sine    ridge        5    10  20  12.5000 ± 0.7500\n");
    free(out);
    out = printed(text, "tiny", &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(out,
        "tiny (mean ± 95% CI over seeds' means, or over episodes with one seed)\n"
        "target  learner  shots  step   n  mean ± ci95\n"
        "sine    ridge        5     0  20  2.5000e-05 ± 1.5000e-06\n");
    free(out);
    out = printed(text, "accuracy", &rc);   /* no such rows: nothing at all */
    assert_int_equal(rc, 0);
    assert_true(out == NULL || out[0] == '\0');
    free(out);
}

static void print_errors_name_file_and_record(void **state)
{
    struct files f;
    struct err e;
    files_open(&f, "");
    const char *text = SUMMARY_HEAD "x,base,s,t,l,5,1,,,,accuracy,all,4,0,zero,,\n";
    testutil_write(f.summary, text, strlen(text));
    FILE *fp = fopen("/dev/null", "w");
    assert_non_null(fp);
    assert_int_equal(summary_print(f.summary, fp, "accuracy", &e), ERR_IO);
    char want[4400];
    snprintf(want, sizeof want, "%s: record 2: mean is 'zero'", f.summary);
    assert_non_null(strstr(e.msg, want));
    /* A summary.csv of another layout is refused at its header. */
    assert_int_equal(summary_print(f.episodes, fp, "accuracy", &e), ERR_IO);
    assert_non_null(strstr(e.msg, f.episodes));
    fclose(fp);
    files_close(&f);
}

/* summary_write then summary_print: the whole path a run takes. */
static void write_then_print(void **state)
{
    struct files f;
    struct err e;
    files_open(&f, two_learners);
    assert_int_equal(summary_write(f.episodes, f.summary, NULL, &e), 0);
    char *out = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&out, &len);
    assert_non_null(fp);
    assert_int_equal(summary_print(f.summary, fp, "accuracy", &e), 0);
    assert_int_equal(fclose(fp), 0);
    /* Pooled means and CIs of per_seed_and_pooled_rows, to four decimals:
     * 0.6542 ± 12.7062·0.041248/√2 = 0.3706, 0.4167 ± 0.4235, … */
    assert_string_equal(out,
        "accuracy (mean ± 95% CI over seeds' means, or over episodes with one seed)\n"
        "target  learner      shots  n  mean ± ci95\n"
        "tgt     proto            1  7  0.6542 ± 0.3706\n"
        "tgt     proto            5  4  0.9250 ± 0.0000\n"
        "tgt     fine, tuned      1  4  0.4167 ± 0.4235\n"
        "tgt     fine, tuned      5  3  0.7500 ± 0.0566\n");
    free(out);
    files_close(&f);
}

/* ---- transfer gain and negative transfer ---- */

/* Paired episodes: baseline scr (steps 0 and 10; 10 is final), tune (step 5,
 * one empty value), copy (scr's final values), bad (far below), on a
 * classification target and a regression one; a loss row no gain reads. */
static const char *const paired =
    HEAD
    "x,base,0,s,cls,scr,2,1,0,0,,,accuracy,0.1,ok\n"
    "x,base,0,s,cls,scr,2,1,1,0,,,accuracy,0.2,ok\n"
    "x,base,0,s,cls,scr,2,1,2,0,,,accuracy,0.3,ok\n"
    "x,base,0,s,cls,scr,2,1,3,0,,,accuracy,0.4,ok\n"
    "x,base,0,s,cls,scr,2,1,0,10,,,accuracy,0.5,ok\n"
    "x,base,0,s,cls,scr,2,1,1,10,,,accuracy,0.6,ok\n"
    "x,base,0,s,cls,scr,2,1,2,10,,,accuracy,0.4,ok\n"
    "x,base,0,s,cls,scr,2,1,3,10,,,accuracy,0.7,ok\n"
    "x,base,0,s,cls,tune,2,1,0,5,,,accuracy,0.6,ok\n"
    "x,base,0,s,cls,tune,2,1,1,5,,,accuracy,0.9,ok\n"
    "x,base,0,s,cls,tune,2,1,2,5,,,accuracy,0.3,ok\n"
    "x,base,0,s,cls,tune,2,1,3,5,,,accuracy,0.7,ok\n"
    "x,base,0,s,cls,tune,2,1,3,5,,,loss,0.7,ok\n"
    "x,base,1,s,cls,scr,2,1,0,10,,,accuracy,0.5,ok\n"
    "x,base,1,s,cls,scr,2,1,1,10,,,accuracy,0.5,ok\n"
    "x,base,1,s,cls,scr,2,1,2,10,,,accuracy,0.5,ok\n"
    "x,base,1,s,cls,scr,2,1,3,10,,,accuracy,0.5,ok\n"
    "x,base,1,s,cls,tune,2,1,0,5,,,accuracy,0.7,ok\n"
    "x,base,1,s,cls,tune,2,1,1,5,,,accuracy,,diverged\n"
    "x,base,1,s,cls,tune,2,1,2,5,,,accuracy,0.6,ok\n"
    "x,base,1,s,cls,tune,2,1,3,5,,,accuracy,0.8,ok\n"
    "x,base,0,s,cls,copy,2,1,0,10,,,accuracy,0.5,ok\n"
    "x,base,0,s,cls,copy,2,1,1,10,,,accuracy,0.6,ok\n"
    "x,base,0,s,cls,copy,2,1,2,10,,,accuracy,0.4,ok\n"
    "x,base,0,s,cls,copy,2,1,3,10,,,accuracy,0.7,ok\n"
    "x,base,0,s,cls,bad,2,1,0,,,,accuracy,0.1,ok\n"
    "x,base,0,s,cls,bad,2,1,1,,,,accuracy,0.2,ok\n"
    "x,base,0,s,cls,bad,2,1,2,,,,accuracy,0.0,ok\n"
    "x,base,0,s,cls,bad,2,1,3,,,,accuracy,0.1,ok\n"
    "x,base,0,s,reg,scr,,5,0,10,,,mse,1.0,ok\n"
    "x,base,0,s,reg,scr,,5,1,10,,,mse,2.0,ok\n"
    "x,base,0,s,reg,tune,,5,0,5,,,mse,0.5,ok\n"
    "x,base,0,s,reg,tune,,5,1,5,,,mse,2.5,ok\n";

/* The row of (target, learner, step, metric, seed), or fail. */
static int find_row(const struct rows *r, const char *target, const char *learner,
                    const char *step, const char *metric, const char *seed)
{
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->f[i][3], target) && !strcmp(r->f[i][4], learner) &&
            !strcmp(r->f[i][7], step) && !strcmp(r->f[i][10], metric) &&
            !strcmp(r->f[i][11], seed))
            return i;
    fail_msg("no row %s %s step %s %s seed %s", target, learner, step, metric, seed);
    return -1;
}

/* mean, sample std and 1.96·std/√n of x[0..n), computed plainly. */
static void plain_stats(const double *x, int n, double out[3])
{
    double m = 0, ss = 0;
    for (int i = 0; i < n; i++)
        m += x[i] / n;
    for (int i = 0; i < n; i++)
        ss += (x[i] - m) * (x[i] - m);
    out[0] = m, out[1] = sqrt(ss / (n - 1)), out[2] = 1.96 * out[1] / sqrt(n);
}

static void expect_stats(const struct rows *r, int i, int n, int n_failed, const double want[3])
{
    assert_int_equal(atoi(r->f[i][12]), n);
    assert_int_equal(atoi(r->f[i][13]), n_failed);
    for (int k = 0; k < 3; k++)
        assert_close(strtod(r->f[i][14 + k], NULL), want[k], 1e-9, 1e-7);
}

static void transfer_gain_is_the_paired_difference_to_the_baselines_final_step(void **state)
{
    struct files f;
    struct err e;
    files_open(&f, paired);
    assert_int_equal(summary_write(f.episodes, f.summary, &(struct summary_opts){.baseline = "scr"}, &e), 0);
    int py = python_check_args(f.episodes, f.summary, "--baseline scr");
    assert_true(py == 0 || py == -1);
    struct rows r = read_summary(f.summary);
    /* tune, seed 0: [0.6 0.9 0.3 0.7] − scr's step 10 [0.5 0.6 0.4 0.7] */
    const double d0[] = {0.1, 0.3, -0.1, 0.0}, d1[] = {0.2, 0.1, 0.3};   /* seed 1: one empty */
    double s0[3], s1[3];
    plain_stats(d0, 4, s0);
    plain_stats(d1, 3, s1);
    expect_stats(&r, find_row(&r, "cls", "tune", "5", "transfer_gain", "0"), 4, 0, s0);
    expect_stats(&r, find_row(&r, "cls", "tune", "5", "transfer_gain", "1"), 3, 1, s1);
    /* pooled: the t-interval over the two seed means */
    const double means[2] = {s0[0], s1[0]};
    double pooled[3];
    plain_stats(means, 2, pooled);
    pooled[2] = t1 * pooled[1] / sqrt(2);
    expect_stats(&r, find_row(&r, "cls", "tune", "5", "transfer_gain", "all"), 7, 1, pooled);
    /* regression: mse's sign flipped, so that positive is better */
    const double dr[] = {0.5, -0.5};
    double sr[3];
    plain_stats(dr, 2, sr);
    expect_stats(&r, find_row(&r, "reg", "tune", "5", "transfer_gain", "0"), 2, 0, sr);
    /* a learner with the baseline's values gains exactly 0, with zero width */
    int c = find_row(&r, "cls", "copy", "10", "transfer_gain", "0");
    assert_string_equal(r.f[c][14], "0");
    assert_string_equal(r.f[c][15], "0");
    assert_string_equal(r.f[c][16], "0");
    /* negative transfer: 1 only where the whole interval is below zero */
    int b = find_row(&r, "cls", "bad", "", "negative_transfer", "0");
    assert_string_equal(r.f[b][14], "1");
    assert_string_equal(r.f[b][15], "");
    assert_int_equal(atoi(r.f[b][12]), 4);
    int t = find_row(&r, "cls", "tune", "5", "negative_transfer", "all");
    assert_string_equal(r.f[t][14], "0");
    assert_string_equal(r.f[find_row(&r, "cls", "copy", "10", "negative_transfer", "0")][14], "0");
    /* the baseline has no gain rows, the loss no gain, and nothing pairs without a baseline */
    for (int i = 0; i < r.n; i++) {
        if (!strcmp(r.f[i][10], "transfer_gain") || !strcmp(r.f[i][10], "negative_transfer"))
            assert_string_not_equal(r.f[i][4], "scr");
    }
    int gains = 0;
    for (int i = 0; i < r.n; i++)
        gains += !strcmp(r.f[i][10], "transfer_gain");
    /* tune cls (2 seeds + pooled), copy (1 + pooled), bad (1 + pooled), tune reg (1 + pooled) */
    assert_int_equal(gains, 3 + 2 + 2 + 2);
    free(r.f);
    assert_int_equal(summary_write(f.episodes, f.summary, NULL, &e), 0);
    r = read_summary(f.summary);
    for (int i = 0; i < r.n; i++)
        assert_string_not_equal(r.f[i][10], "transfer_gain");
    free(r.f);
    files_close(&f);
}

static void shots_to_threshold_rows_on_a_constructed_summary(void **state)
{
    struct files f;
    struct err e;
    files_open(&f, two_learners);
    const double th[] = {0.9, 0.7};
    const struct summary_target t = {"tgt", 2, th};
    const struct summary_opts o = {.targets = &t, .n_targets = 1};
    assert_int_equal(summary_write(f.episodes, f.summary, &o, &e), 0);
    struct rows r = read_summary(f.summary);
    /* proto: seed 0 means 0.625 (1 shot), 0.925 (5); seed 1 0.683, 0.925 */
    const struct { const char *learner, *param, *seed, *mean; int n; } want[] = {
        {"proto", "0.9", "0", "5", 2}, {"proto", "0.9", "1", "5", 2},
        {"proto", "0.9", "all", "5", 4}, {"proto", "0.7", "0", "5", 2},
        {"proto", "0.7", "all", "5", 4},
        /* fine, tuned: only seed 1 has both shot counts: 0.45, 0.75 */
        {"fine, tuned", "0.9", "1", "inf", 2}, {"fine, tuned", "0.7", "1", "5", 2},
        {"fine, tuned", "0.7", "all", "5", 2},
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        int i = -1;
        for (int j = 0; j < r.n; j++)
            if (!strcmp(r.f[j][4], want[k].learner) && !strcmp(r.f[j][9], want[k].param) &&
                !strcmp(r.f[j][10], "shots_to_threshold") && !strcmp(r.f[j][11], want[k].seed))
                i = j;
        if (i < 0)
            fail_msg("no shots_to_threshold row %s %s %s", want[k].learner, want[k].param,
                     want[k].seed);
        assert_string_equal(r.f[i][14], want[k].mean);
        assert_int_equal(atoi(r.f[i][12]), want[k].n);
        assert_string_equal(r.f[i][6], "");    /* over every shot count */
        assert_string_equal(r.f[i][16], "");
    }
    int py = python_check(f.episodes, f.summary);
    assert_true(py == 1 || py == -1);   /* the checker needs --thresholds to expect them */
    py = python_check_args(f.episodes, f.summary, "--thresholds tgt=0.9,0.7");
    assert_true(py == 0 || py == -1);
    free(r.f);
    files_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(per_seed_and_pooled_rows),
        cmocka_unit_test(exact_bytes),
        cmocka_unit_test(many_cells_keep_first_appearance_order),
        cmocka_unit_test(empty_episodes_give_a_header_only),
        cmocka_unit_test(wrong_header_names_the_file),
        cmocka_unit_test(bad_value_names_file_and_record),
        cmocka_unit_test(print_accuracy_table),
        cmocka_unit_test(print_variants_steps_and_missing_values),
        cmocka_unit_test(print_errors_name_file_and_record),
        cmocka_unit_test(write_then_print),
        cmocka_unit_test(transfer_gain_is_the_paired_difference_to_the_baselines_final_step),
        cmocka_unit_test(shots_to_threshold_rows_on_a_constructed_summary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
