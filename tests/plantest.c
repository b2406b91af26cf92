/* plantest: base_yaml, the plan builders and the IDX writer of plantest.h.
 * Only planning: what a plan is checked for is the business of the tests
 * that include it. */
#include "testutil.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "harness/config.h"
#include "harness/yamltree.h"
#include "plantest.h"

const char *const base_yaml =
    "name: t\n"                                                                          /* 1 */
    "seeds: [0, 1]\n"                                                                    /* 2 */
    "data:\n"                                                                            /* 3 */
    "  blobs: {format: clusters, classes: 6, dim: 3, separation: 2, per_class: 5}\n"     /* 4 */
    "network: {hidden: [4]}\n"                                                           /* 5 */
    "source: {data: blobs, classes: [0, 1, 2], train: {epochs: 1, batch: 8, lr: 0.01}}\n"/* 6 */
    "targets:\n"                                                                         /* 7 */
    "  t: {data: blobs, classes: [3, 4, 5], ways: 2, shots: [1, 2], queries: 3, episodes: 4}\n"
    "  u: {data: blobs, classes: [3, 4, 5], ways: 3, shots: [1], queries: 2, episodes: 2}\n"
    "learners:\n"                                                                        /* 10 */
    "  a: {kind: finetune, steps: 2, lr: 0.01}\n"                                        /* 11 */
    "  s: {kind: scratch, steps: 2}\n"                                                   /* 12 */
    "  p: {kind: prototypes}\n";                                                         /* 13 */

int plan_core(struct plan *p, const char *text, const char *const *ovr, int n,
              const char *core, struct err *e)
{
    /* files read two at a time, as a run on two CPUs reads them */
    return plan_core_threads(p, text, ovr, n, core, 2, e);
}

int plan_core_threads(struct plan *p, const char *text, const char *const *ovr, int n,
                      const char *core, int threads, struct err *e)
{
    struct yt_doc doc = {0};
    struct experiment base = {0};
    memset(p, 0, sizeof *p);
    err_clear(e);
    int rc = yt_load_string("exp.yaml", text, &doc, e);
    for (int i = 0; !rc && i < n; i++)
        rc = yt_override(&doc, ovr[i], i + 1, e);
    if (!rc)
        rc = config_from_tree(&doc, &base, e);
    if (!rc)
        rc = plan_variants(p, &doc, &base, e);
    if (!rc)
        rc = plan_prepare(p, threads, e);
    if (!rc)
        rc = plan_build(p, core, e);
    config_free(&base);
    yt_free(&doc);
    return rc;
}

void plan_ok(struct plan *p, const char *text, const char *const *ovr, int n)
{
    struct err e;
    int rc = plan_core(p, text, ovr, n, CORE, &e);
    if (rc)
        print_error("unexpected error: %s\n", e.msg);
    assert_int_equal(rc, 0);
}

/* Big-endian u32. */
static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

void plantest_write_idx(const char *dir, const char *prefix, int salt)
{
    enum { N = 30, R = 4, C = 4 };
    unsigned char img[16 + N * R * C], lab[8 + N];
    put32(img, 0x803), put32(img + 4, N), put32(img + 8, R), put32(img + 12, C);
    put32(lab, 0x801), put32(lab + 4, N);
    for (int i = 0; i < N; i++) {
        lab[8 + i] = (unsigned char)(i % 6);
        for (int j = 0; j < R * C; j++)
            img[16 + i * R * C + j] = (unsigned char)((37 * (i % 6) + 11 * j + 7 * i + salt) % 256);
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte", dir, prefix);
    testutil_write(path, img, sizeof img);
    snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte", dir, prefix);
    testutil_write(path, lab, sizeof lab);
}
