/* runrec: the run record built as a YAML tree and written by kshot's emitter. */
#include "harness/runrec.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "harness/base/fsutil.h"
#include "harness/base/meter.h"

void runrec_path(const char *dir, const char *only, int shard_i, int shard_n, char *buf,
                 size_t cap)
{
    char o[32] = "";
    if (only)
        snprintf(o, sizeof o, ".%s", only);
    if (shard_n > 1)
        snprintf(buf, cap, "%s/run%s.%d-of-%d.yaml", dir, o, shard_i, shard_n);
    else
        snprintf(buf, cap, "%s/run%s.yaml", dir, o);
}

bool runrec_is_record(const char *name)
{
    size_t len = strlen(name);
    return strcmp(name, "run.yaml") == 0 ||
           (len > 9 && strncmp(name, "run.", 4) == 0 && strcmp(name + len - 5, ".yaml") == 0);
}

void runrec_now(char *buf, size_t cap)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The code point of the UTF-8 sequence starting at s and its length in
 * bytes, or 0 if s does not start a valid one (overlong forms, surrogates
 * and values past U+10FFFF are not valid). */
static int utf8_decode(const unsigned char *s, unsigned long *cp)
{
    static const unsigned long least[] = {0, 0, 0x80, 0x800, 0x10000};
    int n = *s < 0x80 ? 1 : (*s & 0xe0) == 0xc0 ? 2 : (*s & 0xf0) == 0xe0 ? 3
            : (*s & 0xf8) == 0xf0 ? 4 : 0;
    if (n == 0)
        return 0;
    unsigned long v = n == 1 ? *s : *s & (0x7fu >> n);
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3fu);
    }
    if (v < least[n] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return n;
}

/* s as valid UTF-8 (YAML text must be): a byte that starts no valid
 * sequence becomes the code point of its value, U+0080…U+00FF. */
static struct yt_node *text(const char *s)
{
    const unsigned char *c = (const unsigned char *)(s ? s : "");
    char *out = malloc(2 * strlen((const char *)c) + 1), *o = out;
    if (!out)
        return NULL;
    while (*c) {
        unsigned long cp;
        int n = utf8_decode(c, &cp);
        if (n > 0) {
            memcpy(o, c, (size_t)n), o += n, c += n;
        } else {   /* two-byte form of U+0080…U+00FF */
            *o++ = (char)(0xc0 | *c >> 6), *o++ = (char)(0x80 | (*c & 0x3f)), c++;
        }
    }
    *o = '\0';
    struct yt_node *node = yt_new_scalar(out, true);
    free(out);
    return node;
}

static struct yt_node *number(long v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%ld", v);
    return yt_new_scalar(buf, false);
}

/* Every (source, split, seed, checksum) the variants read, each once. */
static struct yt_node *data_list(const struct plan *p)
{
    struct yt_node *list = yt_new(YT_SEQ);
    for (int v = 0; list && v < p->n_variants; v++) {
        const struct store *st = &p->variants[v].store;
        for (int i = 0; list && i < st->n; i++) {
            const struct store_entry *en = &st->entries[i];
            bool seen = false;
            for (int w = 0; w <= v && !seen; w++) {
                const struct store *sw = &p->variants[w].store;
                for (int j = 0; j < (w == v ? i : sw->n) && !seen; j++) {
                    const struct store_entry *o = &sw->entries[j];
                    seen = !strcmp(o->cfg->name, en->cfg->name) && !strcmp(o->split, en->split) &&
                           o->seed == en->seed && o->d->checksum == en->d->checksum;
                }
            }
            if (seen)
                continue;
            char crc[16];
            snprintf(crc, sizeof crc, "%08x", en->d->checksum);
            struct yt_node *m = yt_new(YT_MAP);
            int rc = m ? 0 : ERR_NOMEM;
            rc |= m ? yt_add(m, "name", text(en->cfg->name)) : 0;
            rc |= m ? yt_add(m, "split", yt_new_scalar(en->split, false)) : 0;
            rc |= m ? yt_add(m, "seed", number(en->seed)) : 0;
            rc |= m ? yt_add(m, "rows", number((long)en->d->n)) : 0;
            rc |= m ? yt_add(m, "crc32", yt_new_scalar(crc, true)) : 0;
            if (rc || yt_add(list, NULL, m)) {
                if (rc)
                    yt_node_free(m);
                yt_node_free(list);
                list = NULL;
            }
        }
    }
    return list;
}

void runrec_binary(char *path, size_t path_cap, char *crc, size_t crc_cap)
{
    ssize_t n = readlink("/proc/self/exe", path, path_cap - 1);
    path[n > 0 ? n : 0] = '\0';
    snprintf(crc, crc_cap, "unknown");
    FILE *f = n > 0 ? fopen(path, "rb") : NULL;
    if (!f)
        return;
    unsigned long c = crc32(0L, Z_NULL, 0);
    unsigned char buf[1 << 16];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0)
        c = crc32(c, buf, (uInt)got);
    if (!ferror(f))
        snprintf(crc, crc_cap, "%08lx", c);
    fclose(f);
}

/* The ids of the plan's units with this outcome. */
static struct yt_node *unit_ids(const struct runrec *r, int outcome)
{
    struct yt_node *list = yt_new(YT_SEQ);
    for (int i = 0; list && r->outcome && i < r->plan->n_units; i++)
        if (r->outcome[i] == outcome && yt_add(list, NULL, yt_new_scalar(r->plan->units[i].id, true))) {
            yt_node_free(list);
            list = NULL;
        }
    return list;
}

/* The SLURM job this run is (NULL outside SLURM): its variables' values. */
static struct yt_node *slurm_job(void)
{
    static const char *const vars[][2] = {
        {"SLURM_JOB_ID", "job_id"}, {"SLURM_ARRAY_JOB_ID", "array_job_id"},
        {"SLURM_ARRAY_TASK_ID", "array_task_id"}, {"SLURM_ARRAY_TASK_COUNT", "array_task_count"},
        {"SLURM_JOB_NAME", "job_name"}, {"SLURM_CLUSTER_NAME", "cluster"},
        {"SLURMD_NODENAME", "node"}, {"SLURM_RESTART_COUNT", "restart_count"},
    };
    if (!getenv("SLURM_JOB_ID"))
        return NULL;
    struct yt_node *m = yt_new(YT_MAP);
    for (size_t i = 0; m && i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i][0]);
        if (v && yt_add(m, vars[i][1], text(v))) {
            yt_node_free(m);
            m = NULL;
        }
    }
    return m;
}

static struct yt_node *record(const struct runrec *r)
{
    char host[256] = "", shard[64];
    gethostname(host, sizeof host - 1);
    snprintf(shard, sizeof shard, "%d/%d", r->shard_i, r->shard_n);
    struct yt_node *m = yt_new(YT_MAP), *cmd = yt_new(YT_SEQ), *blas = yt_new(YT_MAP);
    struct yt_node *variants = yt_new(YT_SEQ);
    int rc = m && cmd && blas && variants ? 0 : ERR_NOMEM;
    for (int i = 0; !rc && i < r->argc; i++)
        rc = yt_add(cmd, NULL, text(r->argv[i]));
    for (int i = 0; !rc && i < r->plan->n_variants; i++)
        rc = yt_add(variants, NULL, text(r->plan->variants[i].name));
    if (!rc) {
        rc |= yt_add(blas, "library", yt_new_scalar("OpenBLAS", false));
        rc |= yt_add(blas, "core", text(r->blas->core));
        if (r->blas->openblas_chose[0])   /* kshot selected the core: what OpenBLAS chose */
            rc |= yt_add(blas, "openblas_chose", text(r->blas->openblas_chose));
        rc |= yt_add(blas, "libxsmm", r->blas->xsmm[0] ? text(r->blas->xsmm)
                                                       : yt_new_scalar("~", false));
        rc |= yt_add(blas, "threads_per_worker", number(1));
        rc |= yt_add(blas, "config", text(r->blas->config));
    }
    if (rc) {
        yt_node_free(m), yt_node_free(cmd), yt_node_free(blas), yt_node_free(variants);
        return NULL;
    }
    rc |= yt_add(m, "kshot_version", yt_new_scalar(KSHOT_VERSION, true));
    struct yt_node *bin = yt_new(YT_MAP);
    char exe[4096], crc[16];
    runrec_binary(exe, sizeof exe, crc, sizeof crc);
    if (bin) {
        rc |= yt_add(bin, "path", text(exe));
        rc |= yt_add(bin, "crc32", yt_new_scalar(crc, true));
    }
    rc |= yt_add(m, "binary", bin);
    rc |= yt_add(m, "unit_format", number(PLAN_FORMAT));
    rc |= yt_add(m, "command", cmd);
    rc |= yt_add(m, "host", text(host));
    rc |= yt_add(m, "started", yt_new_scalar(r->started, true));
    rc |= yt_add(m, "finished", r->finished[0] ? yt_new_scalar(r->finished, true)
                                                : yt_new_scalar("~", false));
    rc |= yt_add(m, "status", yt_new_scalar(r->status, false));
    if (r->error)
        rc |= yt_add(m, "error", text(r->error));
    rc |= yt_add(m, "blas", blas);
    rc |= yt_add(m, "workers", number(r->workers));
    rc |= yt_add(m, "shard", yt_new_scalar(shard, true));
    if (r->shard_from)
        rc |= yt_add(m, "shard_from", yt_new_scalar(r->shard_from, false));
    if (r->only)
        rc |= yt_add(m, "only", yt_new_scalar(r->only, false));
    struct yt_node *job = slurm_job();
    if (job)
        rc |= yt_add(m, "slurm", job);
    if (r->outcome) {
        rc |= yt_add(m, "computed", unit_ids(r, OUTCOME_COMPUTED));
        rc |= yt_add(m, "reused", unit_ids(r, OUTCOME_REUSED));
    }
    rc |= yt_add(m, "peak_rss_kb", number(meter_peak_kb()));
    rc |= yt_add(m, "data", data_list(r->plan));
    rc |= yt_add(m, "variants", variants);
    rc |= yt_add(m, "config", r->config->root ? yt_copy(r->config->root)
                                              : yt_new_scalar("~", false));
    if (rc) {
        yt_node_free(m);
        return NULL;
    }
    return m;
}

int runrec_write(const char *dir, const struct runrec *r, struct err *e)
{
    char path[4200];
    runrec_path(dir, r->only, r->shard_i, r->shard_n, path, sizeof path);
    struct yt_node *tree = record(r);
    if (!tree)
        return err_set(e, ERR_NOMEM, "%s: out of memory for the run record", path);
    struct afile af;
    int rc = afile_open(&af, path, e);
    if (!rc) {
        fprintf(af.fp, "# kshot run record: provenance and the resolved configuration.\n");
        rc = yt_emit(tree, af.fp, e);
        if (rc) {
            err_prefix(e, "%s", path);
            afile_abort(&af);
        } else {
            rc = afile_commit(&af, e);
        }
    }
    yt_node_free(tree);
    return rc;
}
