/* main: kshot's command line — parses the subcommand, runs it, maps errors to
 * exit statuses. The only file in kshot that prints errors or calls exit(). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/base/err.h"
#include "harness/blas.h"
#include "harness/compare.h"
#include "harness/columns.h"
#include "harness/config.h"
#include "harness/memory.h"
#include "harness/merge.h"
#include "harness/plot.h"
#include "harness/runner.h"
#include "harness/slurm.h"

static int g_argc;
static char **g_argv;

struct command {
    const char *name;
    int (*run)(int argc, char **argv, struct err *e);
    const char *summary;
};

static int cmd_help(int argc, char **argv, struct err *e);
static void run_usage(FILE *out);
static int cmd_version(int argc, char **argv, struct err *e);
static int cmd_info(int argc, char **argv, struct err *e);
static int cmd_run(int argc, char **argv, struct err *e);
static int cmd_plan(int argc, char **argv, struct err *e);
static int cmd_compare(int argc, char **argv, struct err *e);
static int cmd_plot(int argc, char **argv, struct err *e);
static int cmd_merge(int argc, char **argv, struct err *e);
static int cmd_slurm(int argc, char **argv, struct err *e);

static const struct command commands[] = {
    {"run", cmd_run, "run an experiment: kshot run FILE.yaml [KEY=VALUE ...] [-o DIR] [-j N] [-q]"},
    {"plan", cmd_plan, "validate an experiment and list its units without running them"},
    {"slurm", cmd_slurm, "write a submit script that runs an experiment as SLURM job arrays: "
                         "kshot slurm FILE.yaml [KEY=VALUE ...] [--tasks N] [-o submit.sh]"},
    {"merge", cmd_merge, "combine the parts that shards wrote into a results directory: "
                         "kshot merge DIR (lists missing units; needs no data or config)"},
    {"compare", cmd_compare, "the learners of a results directory side by side, with paired "
                             "differences and tests: kshot compare DIR... [--baseline L] [--metric M] "
                             "[--format text|markdown|csv]"},
    {"plot", cmd_plot, "draw a results directory's learning curves: kshot plot DIR -o FILE.svg|png|pdf"},
    {"info", cmd_info, "print the BLAS kernel, CPU vector units and run the BLAS self-test"},
    {"help", cmd_help, "this help; `kshot help run` for run options, `kshot help config` for every "
                       "experiment key, `kshot help learners` for the learner kinds, `kshot help "
                       "files` for every CSV column"},
    {"version", cmd_version, "print kshot's version"},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
    fprintf(out,
            "usage: kshot <command> [options]\n"
            "\n"
            "kshot trains small networks on a source task, adapts them with a few\n"
            "examples to held-out tasks, and writes CSV that tells which learner\n"
            "reuses what it learned best.\n"
            "\n"
            "commands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\n"
            "options:\n"
            "  -h, --help     print this help\n"
            "  -V, --version  print kshot's version\n"
            "\n"
            "exit status: 0 done, 1 failure while running, 2 bad command line or\n"
            "experiment file, 3 stopped by a signal (rerun to finish).\n");
}

static int cmd_help(int argc, char **argv, struct err *e)
{
    if (argc >= 2 && strcmp(argv[1], "config") == 0) {
        bool md = argc >= 3 && strcmp(argv[2], "--markdown") == 0;
        config_help(stdout, md);
        return ERR_OK;
    }
    if (argc >= 2 && strcmp(argv[1], "learners") == 0) {
        config_help_learners(stdout);
        return ERR_OK;
    }
    if (argc >= 2 && strcmp(argv[1], "files") == 0) {
        columns_help(stdout, argc >= 3 && strcmp(argv[2], "--markdown") == 0);
        return ERR_OK;
    }
    if (argc >= 2 && strcmp(argv[1], "run") == 0) {
        run_usage(stdout);
        return ERR_OK;
    }
    if (argc >= 2)
        return err_set(e, ERR_USAGE, "no help on '%s' (try: kshot help, kshot help config, "
                       "kshot help learners, kshot help files, kshot help run)", argv[1]);
    usage(stdout);
    return ERR_OK;
}

static int cmd_version(int argc, char **argv, struct err *e)
{
    printf("kshot %s\n", KSHOT_VERSION);
    return ERR_OK;
}

static int cmd_info(int argc, char **argv, struct err *e)
{
    struct blas_info info;
    blas_single_thread();
    blas_query(&info);
    printf("kshot %s\n", KSHOT_VERSION);
    printf("blas: OpenBLAS, core %s, %d thread(s)\n", info.core, info.threads);
    if (info.xsmm[0])
        printf("small products: libxsmm, target %s (KSHOT_GEMM=openblas sends them to "
               "OpenBLAS)\n", info.xsmm);
    else
        printf("small products: OpenBLAS (libxsmm not in this build, or KSHOT_GEMM=openblas)\n");
    printf("blas config: %s\n", info.config);
    printf("cpu: avx2+fma %s, avx512f %s\n", info.cpu_avx2 ? "yes" : "no",
           info.cpu_avx512 ? "yes" : "no");
    char warn[512];
    blas_note(&info, warn, sizeof warn);
    if (warn[0])
        printf("%s\n", warn);
    blas_warning(&info, blas_measure_gain(&info), warn, sizeof warn);
    if (warn[0])
        fprintf(stderr, "kshot: %s\n", warn);
    double rel;
    int rc = blas_selftest(&rel, e);
    if (rc)
        return rc;
    printf("blas self-test: ok (largest relative difference %.2g)\n", rel);
    return ERR_OK;
}

static void run_usage(FILE *out)
{
    fprintf(out,
            "usage: kshot run FILE.yaml [KEY.PATH=VALUE ...] [options]\n"
            "       kshot plan FILE.yaml [KEY.PATH=VALUE ...]\n"
            "\n"
            "Runs every unit of the experiment that is not already done and writes\n"
            "episodes.csv, summary.csv, pretrain.csv, costs.csv and run.yaml to\n"
            "results/<name>/. KEY.PATH=VALUE overrides a key of the file, e.g.\n"
            "targets.heldout.episodes=100 or seeds=[0,1]. Rerunning the same command\n"
            "reuses finished units; a changed config recomputes only what changed.\n"
            "\n"
            "options:\n"
            "  -o DIR        results directory (default: output.dir, or results/<name>)\n"
            "  -j N          worker threads (default: the number of CPUs); results do not\n"
            "                depend on N\n"
            "  -q            quiet: no progress line, no summary table\n"
            "  --shard I/N   run only shard I of N (0 <= I < N) of the evaluation units\n"
            "                and the pretrainings they need (computed once under a lock by\n"
            "                whichever shard needs one first); in a SLURM array task the\n"
            "                shard comes from SLURM_ARRAY_TASK_ID and the array's size.\n"
            "                Shards leave the combined files to `kshot merge DIR`\n"
            "  --only pretrain|eval\n"
            "                only the pretraining units (with --shard: every N-th of them),\n"
            "                or only the evaluation units (the pretrainings they need are\n"
            "                reused, or computed under a lock when missing)\n"
            "  --max-memory SIZE\n"
            "                refuse up front a run whose memory estimate (kshot plan prints\n"
            "                it) exceeds SIZE (4G, 512M; default: the cgroup's memory.max,\n"
            "                what SLURM's --mem becomes, else the machine's memory)\n"
            "  --fresh       start the results directory over: remove its parts, models,\n"
            "                run records and combined files first (refused while another\n"
            "                kshot process uses the directory, and with a shard)\n"
            "  -h, --help    print this help\n");
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

/* Shared by run and plan: FILE, overrides and options in any order. */
static int parse_run_args(int argc, char **argv, struct run_opts *o, bool *help, struct err *e)
{
    static char *ovr[256];
    o->overrides = ovr;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            *help = true;
            return ERR_OK;
        } else if (strcmp(a, "-q") == 0) {
            o->quiet = true;
        } else if (strcmp(a, "-o") == 0) {
            if (!val)
                return err_set(e, ERR_USAGE, "-o needs a directory");
            o->out_dir = argv[++i];
        } else if (strcmp(a, "-j") == 0) {
            if (!val || parse_int(val, 1, 256, &o->jobs))
                return err_set(e, ERR_USAGE, "-j needs a number of workers from 1 to 256");
            i++;
        } else if (strcmp(a, "--shard") == 0) {
            char *slash = val ? strchr(val, '/') : NULL;
            if (!slash)
                return err_set(e, ERR_USAGE, "--shard needs I/N with 0 <= I < N, e.g. --shard 0/4");
            *slash = '\0';
            int bad = parse_int(val, 0, 1 << 20, &o->shard_i) || parse_int(slash + 1, 1, 1 << 20, &o->shard_n);
            *slash = '/';
            if (bad || o->shard_i >= o->shard_n)
                return err_set(e, ERR_USAGE, "--shard %s: expected I/N with 0 <= I < N", val);
            o->shard_given = true;
            i++;
        } else if (strcmp(a, "--only") == 0) {
            if (val && strcmp(val, "pretrain") == 0)
                o->only = RUN_ONLY_PRETRAIN;
            else if (val && strcmp(val, "eval") == 0)
                o->only = RUN_ONLY_EVAL;
            else
                return err_set(e, ERR_USAGE, "--only needs pretrain or eval");
            i++;
        } else if (strcmp(a, "--fresh") == 0) {
            o->fresh = true;
        } else if (strcmp(a, "--max-memory") == 0) {
            uint64_t bytes;
            if (!val)
                return err_set(e, ERR_USAGE, "--max-memory needs a size such as 4G");
            if (memory_parse(val, &bytes, e))
                return ERR_USAGE;
            o->max_memory = bytes;
            i++;
        } else if (a[0] == '-') {
            return err_set(e, ERR_USAGE, "unknown option '%s' (see kshot help run)", a);
        } else if (strchr(a, '=')) {
            if (o->n_overrides == 256)
                return err_set(e, ERR_USAGE, "at most 256 overrides");
            ovr[o->n_overrides++] = argv[i];
        } else if (!o->config) {
            o->config = a;
        } else {
            return err_set(e, ERR_USAGE, "'%s': only one experiment file (an override is "
                           "KEY.PATH=VALUE)", a);
        }
    }
    if (!o->config)
        return err_set(e, ERR_USAGE, "no experiment file given (usage: kshot %s FILE.yaml)", argv[0]);
    return ERR_OK;
}

/* run and plan share their arguments; plan only prints. */
static int run_or_plan(int argc, char **argv, bool plan, struct err *e)
{
    struct run_opts o;
    runner_defaults(&o);
    bool help = false;
    int rc = parse_run_args(argc, argv, &o, &help, e);
    if (rc || help) {
        if (help)
            run_usage(stdout);
        return rc;
    }
    o.argc = g_argc, o.argv = g_argv;
    return plan ? runner_plan(&o, e) : runner_run(&o, e);
}

static int cmd_run(int argc, char **argv, struct err *e)
{
    return run_or_plan(argc, argv, false, e);
}

static int cmd_plan(int argc, char **argv, struct err *e)
{
    return run_or_plan(argc, argv, true, e);
}

static void compare_usage(FILE *out)
{
    fprintf(out,
            "usage: kshot compare RESULTS... [--baseline LEARNER] [--metric METRIC]\n"
            "                     [--format text|markdown|csv]\n"
            "\n"
            "Per target (and variant, probe and param), every learner at its final step\n"
            "and shot count: mean ± 95%% CI (over seed means with several seeds), the\n"
            "paired difference to the baseline on identical episodes (positive = better,\n"
            "for mse and loss too) with its CI, the paired t-test's p-value, the Wilcoxon\n"
            "signed-rank test's, and the t-test's adjusted by Holm across the table; the\n"
            "best learner of each column, and those whose paired difference to it has an\n"
            "interval containing 0 (tied).\n"
            "\n"
            "Several results directories side by side: learners are named DIR/LEARNER (DIR\n"
            "the directory's last component), and rows pair across runs episode by\n"
            "episode, so the runs' records (run.yaml) must agree on every target they\n"
            "share and on the data it reads; compare refuses, naming what differs,\n"
            "otherwise.\n"
            "\n"
            "  --baseline L   compare with learner L (default: the run's baseline, the one\n"
            "                 summary.csv's transfer_gain rows are against)\n"
            "  --metric M     accuracy (default), mse (default for regression), loss, or any\n"
            "                 metric of episodes.csv\n"
            "  --format F     text (default, for a terminal), markdown, or csv (one long\n"
            "                 table: target,metric,step,probe,param,learner,shots,n,mean,\n"
            "                 ci95,diff,diff_ci95,p_t,p_wilcoxon,p_holm,best,tied,variant)\n");
}

static int cmd_compare(int argc, char **argv, struct err *e)
{
    struct compare_opts o = {.format = COMPARE_TEXT};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            compare_usage(stdout);
            return ERR_OK;
        }
        bool valued = strcmp(a, "--baseline") == 0 || strcmp(a, "--metric") == 0 ||
                      strcmp(a, "--format") == 0;
        if (valued && i + 1 >= argc)
            return err_set(e, ERR_USAGE, "compare: %s needs a value (kshot compare --help)", a);
        if (strcmp(a, "--baseline") == 0) {
            o.baseline = argv[++i];
        } else if (strcmp(a, "--metric") == 0) {
            o.metric = argv[++i];
        } else if (strcmp(a, "--format") == 0) {
            const char *f = argv[++i];
            if (strcmp(f, "text") == 0)
                o.format = COMPARE_TEXT;
            else if (strcmp(f, "markdown") == 0)
                o.format = COMPARE_MARKDOWN;
            else if (strcmp(f, "csv") == 0)
                o.format = COMPARE_CSV;
            else
                return err_set(e, ERR_USAGE, "compare: --format %s (expected text, markdown or "
                               "csv)", f);
        } else if (a[0] == '-') {
            return err_set(e, ERR_USAGE, "compare: unknown option %s (kshot compare --help)", a);
        } else if (o.n_dirs == COMPARE_MAX_DIRS) {
            return err_set(e, ERR_USAGE, "compare: at most %d results directories side by side",
                           COMPARE_MAX_DIRS);
        } else {
            o.dirs[o.n_dirs++] = a;
        }
    }
    if (!o.n_dirs)
        return err_set(e, ERR_USAGE, "compare: which results directory? (kshot compare --help)");
    return compare_run(&o, stdout, e);
}

static int cmd_merge(int argc, char **argv, struct err *e)
{
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf("usage: kshot merge RESULTS\n\n"
                   "Rebuilds episodes.csv, summary.csv, pretrain.csv, costs.csv,\n"
                   "cost_summary.csv and curves.svg/png of a results directory from the parts\n"
                   "its runs or shards wrote and the unit list (units.csv) every run writes;\n"
                   "neither the data nor the config file is needed. Every part is verified\n"
                   "first. When units are missing it lists them, writes nothing and exits 1;\n"
                   "rerun the shards that did not finish (finished units are kept), then merge.\n");
            return ERR_OK;
        }
        if (argv[i][0] == '-')
            return err_set(e, ERR_USAGE, "merge: unknown option %s (kshot merge --help)", argv[i]);
        if (dir)
            return err_set(e, ERR_USAGE, "merge: one results directory at a time (%s, then %s)",
                           dir, argv[i]);
        dir = argv[i];
    }
    if (!dir)
        return err_set(e, ERR_USAGE, "merge: which results directory? (kshot merge RESULTS)");
    return merge_run(dir, stdout, e);
}

static void slurm_usage(FILE *out)
{
    fprintf(out,
            "usage: kshot slurm FILE.yaml [KEY.PATH=VALUE ...] [--tasks N] [--cpus C]\n"
            "                  [--partition P] [--time T] [--mem M] [--account A]\n"
            "                  [--results DIR] [-o FILE]\n"
            "\n"
            "Writes a bash script that submits the experiment to SLURM as three jobs, each\n"
            "after the one before: an array of pretraining tasks (kshot run --only\n"
            "pretrain), an array of evaluation tasks (--only eval; after the pretraining\n"
            "succeeded) and kshot merge (after the evaluation ended, however it ended, so it\n"
            "lists what is missing). Array tasks take their shard from SLURM; a requeued or\n"
            "resubmitted task keeps the units that are done. The script names kshot, the\n"
            "config and the results directory by absolute path, and runs the jobs in the\n"
            "current directory. Submit it with: bash FILE.\n"
            "\n"
            "  --tasks N      tasks per array (default: the eval units, at most 32; the\n"
            "                 pretraining array has at most as many as pretrain units)\n"
            "  --cpus C       CPUs per task, and kshot's workers (-j) (default 1)\n"
            "  --partition P, --time T, --mem M, --account A\n"
            "                 the jobs' #SBATCH resources (default: the cluster's)\n"
            "  --results DIR  the results directory the jobs share (default: output.dir, or\n"
            "                 results/<name>; it must be on a file system every node sees)\n"
            "  -o FILE        write the script to FILE (default: standard output)\n");
}

static int cmd_slurm(int argc, char **argv, struct err *e)
{
    struct run_opts o;
    struct slurm_opts so = {.cpus = 1};
    static char *ovr[256];
    runner_defaults(&o);
    o.overrides = ovr;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        const char **str = strcmp(a, "--partition") == 0 ? &so.partition
                           : strcmp(a, "--time") == 0    ? &so.time
                           : strcmp(a, "--mem") == 0     ? &so.mem
                           : strcmp(a, "--account") == 0 ? &so.account
                           : strcmp(a, "-o") == 0        ? &so.out
                           : strcmp(a, "--results") == 0 ? &o.out_dir
                                                         : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            slurm_usage(stdout);
            return ERR_OK;
        } else if (str) {
            if (!val || !val[0])
                return err_set(e, ERR_USAGE, "slurm: %s needs a value (kshot slurm --help)", a);
            *str = argv[++i];
        } else if (strcmp(a, "--tasks") == 0 || strcmp(a, "--cpus") == 0) {
            int *n = a[2] == 't' ? &so.tasks : &so.cpus;
            if (!val || parse_int(val, 1, a[2] == 't' ? 100000 : 256, n))
                return err_set(e, ERR_USAGE, "slurm: %s needs a number from 1 to %d", a,
                               a[2] == 't' ? 100000 : 256);
            i++;
        } else if (strcmp(a, "-q") == 0) {
            o.quiet = true;
        } else if (a[0] == '-') {
            return err_set(e, ERR_USAGE, "slurm: unknown option %s (kshot slurm --help)", a);
        } else if (strchr(a, '=')) {
            if (o.n_overrides == 256)
                return err_set(e, ERR_USAGE, "at most 256 overrides");
            ovr[o.n_overrides++] = argv[i];
        } else if (!o.config) {
            o.config = a;
        } else {
            return err_set(e, ERR_USAGE, "slurm: '%s': only one experiment file (an override is "
                           "KEY.PATH=VALUE)", a);
        }
    }
    if (!o.config)
        return err_set(e, ERR_USAGE, "slurm: no experiment file given (kshot slurm --help)");
    o.quiet = true;   /* no BLAS notes around a script on standard output */
    return runner_slurm(&o, &so, e);
}

static int cmd_plot(int argc, char **argv, struct err *e)
{
    const char *dir = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf("usage: kshot plot RESULTS -o FILE.svg|FILE.png|FILE.pdf\n\n"
                   "The learning curves of a results directory: per target, each learner's mean\n"
                   "accuracy (MSE for regression) at its final step against the shot count on a\n"
                   "log2 axis, with its 95%% CI as a band. kshot run writes them as curves.svg\n"
                   "and curves.png itself.\n");
            return ERR_OK;
        }
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (argv[i][0] == '-')
            return err_set(e, ERR_USAGE, "plot: unknown option %s (kshot plot --help)", argv[i]);
        else if (dir)
            return err_set(e, ERR_USAGE, "plot: one results directory at a time (%s, then %s)",
                           dir, argv[i]);
        else
            dir = argv[i];
    }
    if (!dir || !out)
        return err_set(e, ERR_USAGE, "plot: kshot plot RESULTS -o FILE.svg|png|pdf");
    char sum[4200];
    snprintf(sum, sizeof sum, "%s/summary.csv", dir);
    return plot_curves(sum, out, e);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    g_argc = argc, g_argv = argv;
    memory_keep_heap();
    const char *name = argv[1];
    if (strcmp(name, "blas-rate") == 0) {   /* hidden: blas_measure_gain's child */
        blas_single_thread();
        printf("%.3f\n", blas_rate(true));
        return 0;
    }
    if (strcmp(name, "run") == 0 || strcmp(name, "plan") == 0 || strcmp(name, "info") == 0)
        blas_auto_select(argv);   /* returns unless it restarts kshot with a better core */
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0)
        name = "help";
    else if (strcmp(name, "-V") == 0 || strcmp(name, "--version") == 0)
        name = "version";
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (strcmp(commands[i].name, name) != 0)
            continue;
        struct err e;
        err_clear(&e);
        int rc = commands[i].run(argc - 1, argv + 1, &e);
        if (rc == ERR_OK && (fflush(stdout) == EOF || ferror(stdout)))   /* e.g. > /dev/full */
            rc = err_set(&e, ERR_IO, "cannot write to standard output: %s", strerror(errno));
        if (rc != ERR_OK)
            fprintf(stderr, "kshot: %s\n", e.msg);
        return err_exit_status(rc);
    }
    fprintf(stderr, "kshot: unknown command '%s'; valid commands:", name);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(stderr, " %s", commands[i].name);
    fprintf(stderr, " (see kshot --help)\n");
    return 2;
}
