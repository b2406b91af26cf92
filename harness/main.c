/* main: kshot's command line — parses the subcommand, runs it, maps errors to
 * exit statuses. The only file in kshot that prints errors or calls exit(). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/base/err.h"
#include "harness/blas.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv, struct err *e);
    const char *summary;
};

static int cmd_help(int argc, char **argv, struct err *e);
static int cmd_version(int argc, char **argv, struct err *e);
static int cmd_info(int argc, char **argv, struct err *e);

static const struct command commands[] = {
    {"info", cmd_info, "print the BLAS kernel, CPU vector units and run the BLAS self-test"},
    {"help", cmd_help, "print this help"},
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
    printf("blas config: %s\n", info.config);
    printf("cpu: avx2+fma %s, avx512f %s\n", info.cpu_avx2 ? "yes" : "no",
           info.cpu_avx512 ? "yes" : "no");
    char warn[512];
    blas_warning(&info, warn, sizeof warn);
    if (warn[0])
        fprintf(stderr, "kshot: %s\n", warn);
    double rel;
    int rc = blas_selftest(&rel, e);
    if (rc)
        return rc;
    printf("blas self-test: ok (largest relative difference %.2g)\n", rel);
    return ERR_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *name = argv[1];
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
