/* memory: the run's memory estimate, the cgroup's limit, sizes as people write them. */
#include "harness/memory.h"

#include <ctype.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/base/meter.h"
#include "harness/unit.h"
#include "learners/learner.h"

#define ROW_BYTES 48   /* an episodes part row as CSV text ("12,20,fgsm,0.1,accuracy,0.866666667,ok\n" is 38) */

static uint64_t arch_params(const struct mlp_arch *a)
{
    uint64_t n = 0;
    for (int l = 0; l < a->n_layers; l++)
        n += (uint64_t)a->sizes[l] * (uint64_t)a->sizes[l + 1] + (uint64_t)a->sizes[l + 1];
    return n;
}

static uint64_t arch_width(const struct mlp_arch *a)
{
    uint64_t w = 0;
    for (int l = 0; l <= a->n_layers; l++)
        w += (uint64_t)a->sizes[l];
    return w;
}

/* Rows an episode of eval unit u writes, at most: each recorded step's
 * metrics (accuracy and loss, or mse), each probe parameter's, forgetting
 * and mse_zero. */
static uint64_t rows_per_episode(const struct experiment *x, const struct unit *u)
{
    const struct learner_settings *s = &x->learners[u->learner].s;
    uint64_t rows = 2 * (1 + (uint64_t)s->n_record) + 2;
    for (int i = 0; i < x->n_probes; i++) {
        const struct cfg_probe *p = &x->probes[i];
        if (config_probe_applies(p, &x->learners[u->learner]))
            rows += 2 * (uint64_t)(p->n_eps + p->n_sigma + p->n_size + p->n_strength);
    }
    return rows;
}

/* A feature table: what decides it (units that agree share one), and its size. */
struct table_key {
    int variant, pretrain, target, depth;
    long shots;
    uint64_t bytes;   /* every image of the split, at most; 0: the unit makes none */
};

static int by_key(const void *pa, const void *pb)
{
    const struct table_key *a = pa, *b = pb;
    const long d[5] = {a->variant - b->variant, a->pretrain - b->pretrain, a->target - b->target,
                       a->depth - b->depth, a->shots - b->shots};
    for (int i = 0; i < 5; i++)
        if (d[i])
            return d[i] < 0 ? -1 : 1;
    return 0;
}

/* What one worker holds while it runs unit u; *table: its feature table,
 * part of it. */
static uint64_t unit_bytes(const struct plan *p, const struct unit *u, uint64_t *rows,
                           struct table_key *table)
{
    const struct variant *v = &p->variants[u->variant];
    const struct experiment *x = &v->x;
    *rows = 0;
    memset(table, 0, sizeof *table);
    if (u->kind == UNIT_PRETRAIN) {
        const struct learner_settings *s = u->learner >= 0 ? &x->learners[u->learner].s : NULL;
        const struct target_view *tv = data_view(&v->store, u->seed, 0);
        int dim = tv ? tv->dim : 1, out = 64;
        struct mlp_arch a = plan_arch(x, dim, out);
        /* a meta-training step's tasks (rows per class: shots and queries), or a minibatch */
        uint64_t task = s ? (uint64_t)(s->meta.ways > 0 ? s->meta.ways : 1) *
                                (uint64_t)((u->shots > 0 ? u->shots : s->meta.shots) + u->queries)
                          : 0;
        uint64_t batch = s ? (uint64_t)(s->meta.batch > 0 ? s->meta.batch : 1) * task
                           : (uint64_t)x->source.train.batch;
        uint64_t steps = s ? 1 + (uint64_t)s->meta.inner_steps : 1;
        return 6 * 4 * arch_params(&a) + 2 * 4 * batch * arch_width(&a) * steps;
    }
    const struct target_view *tv = data_view(&v->store, u->seed, u->target);
    const struct cfg_target *t = tv->cfg;
    const struct learner_settings *s = &x->learners[u->learner].s;
    bool reg = tv->d == NULL;
    uint64_t mult = reg ? 1 : (uint64_t)t->ways, out = reg ? 1 : (uint64_t)t->ways;
    struct mlp_arch a = plan_arch(x, tv->dim, (int)out);
    uint64_t examples = mult * ((uint64_t)u->shots + (uint64_t)t->queries);
    /* the adaptation's workspaces: one per inner step, and one for scoring
     * the forgetting sample apart from the queries' forward pass */
    uint64_t steps = 2 + (uint64_t)s->meta.inner_steps;
    int depth = u->pretrain >= 0 ? learner_frozen(s, &a) : 0;
    if (tv->d && depth > 0)
        *table = (struct table_key){u->variant, u->pretrain, u->target, depth, u->shots,
                                    (uint64_t)tv->d->n * (uint64_t)a.sizes[depth] * 4};
    *rows = 2 * (uint64_t)t->episodes * rows_per_episode(x, u) * ROW_BYTES;
    return *rows + 6 * 4 * arch_params(&a) + 2 * 4 * examples * arch_width(&a) * steps +
           table->bytes;
}

void memory_estimate(const struct plan *p, const bool *run, int workers, struct mem_estimate *m)
{
    memset(m, 0, sizeof *m);
    m->base = (uint64_t)meter_peak_kb() * 1024;
    struct table_key *keys = malloc(sizeof *keys * (size_t)(p->n_units ? p->n_units : 1));
    int n_keys = 0;
    for (int i = 0; i < p->n_units; i++) {
        const struct unit *u = &p->units[i];
        if ((run && !run[i]) || u->same_as >= 0)
            continue;
        struct table_key table;
        uint64_t rows, b = unit_bytes(p, u, &rows, &table);
        if (table.bytes && keys)
            keys[n_keys++] = table;
        else   /* out of memory for the keys: count every table */
            m->tables += table.bytes;
        if (b > m->per_worker)
            m->per_worker = b;
        if (rows > m->rows)
            m->rows = rows;
        if (u->kind == UNIT_PRETRAIN) {   /* kept for the eval units that reuse it */
            const struct variant *v = &p->variants[u->variant];
            const struct target_view *tv = data_view(&v->store, u->seed, 0);
            struct mlp_arch a = plan_arch(&v->x, tv ? tv->dim : 1, 64);
            m->models += 2 * 4 * arch_params(&a);
        }
    }
    if (keys) {   /* the tables the run keeps: one per key */
        qsort(keys, (size_t)n_keys, sizeof *keys, by_key);
        for (int i = 0; i < n_keys; i++)
            if (i == 0 || by_key(&keys[i], &keys[i - 1]) != 0)
                m->tables += keys[i].bytes;
        free(keys);
    }
    if (m->tables > TABLES_KEPT_BYTES)
        m->tables = TABLES_KEPT_BYTES;
    m->total = m->base + m->models + m->tables +
               (uint64_t)(workers > 0 ? workers : 1) * m->per_worker;
}

void memory_keep_heap(void)
{
#ifdef __GLIBC__
    if (getenv("MALLOC_MMAP_THRESHOLD_") || getenv("MALLOC_TRIM_THRESHOLD_") ||
        getenv("GLIBC_TUNABLES"))
        return;
    /* 32 MB: the largest threshold glibc takes on 64-bit systems; the
     * heap's free top is trimmed beyond twice that */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
}

/* A byte count from a cgroup file: "max" (no limit) gives 0. */
static uint64_t read_limit(const char *path)
{
    FILE *f = fopen(path, "r");
    char buf[64] = "";
    if (!f)
        return 0;
    if (!fgets(buf, sizeof buf, f))
        buf[0] = '\0';
    fclose(f);
    char *end;
    errno = 0;
    unsigned long long v = strtoull(buf, &end, 10);
    if (end == buf || errno || v >= (1ULL << 62))   /* "max", or v1's "no limit" */
        return 0;
    return v;
}

uint64_t memory_limit(char *what, size_t cap)
{
    uint64_t best = 0;
    FILE *f = fopen("/proc/self/cgroup", "r");
    char line[4096];
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "0::", 3) != 0)
            continue;
        line[strcspn(line, "\n")] = '\0';
        char dir[4200];
        snprintf(dir, sizeof dir, "/sys/fs/cgroup%s", line + 3);
        for (;;) {   /* this cgroup and its parents: the smallest limit holds */
            char path[4300];
            snprintf(path, sizeof path, "%s/memory.max", dir);
            uint64_t v = read_limit(path);
            if (v && (!best || v < best))
                best = v;
            char *slash = strrchr(dir, '/');
            if (!slash || slash - dir <= (long)strlen("/sys/fs/cgroup"))
                break;
            *slash = '\0';
        }
    }
    if (f)
        fclose(f);
    if (!best)
        best = read_limit("/sys/fs/cgroup/memory/memory.limit_in_bytes");
    if (best) {
        snprintf(what, cap, "the cgroup's memory limit");
        return best;
    }
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    snprintf(what, cap, "the machine's memory");
    return pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : 0;
}

int memory_parse(const char *s, uint64_t *bytes, struct err *e)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    int shift = 0;
    if (end != s) {
        char u = (char)toupper((unsigned char)*end);
        shift = u == 'K' ? 10 : u == 'M' ? 20 : u == 'G' ? 30 : u == 'T' ? 40 : 0;
        if (shift)
            end++;
        if (shift && (*end == 'i' || *end == 'I'))
            end++;
        if (*end == 'B' || *end == 'b')
            end++;
    }
    if (end == s || *end || errno || !(v > 0) || v * (double)(1ULL << shift) > 1e18)
        return err_set(e, ERR_USAGE, "--max-memory %s: expected a size such as 4G, 512M or "
                       "1073741824 (bytes)", s);
    *bytes = (uint64_t)(v * (double)(1ULL << shift));
    return ERR_OK;
}

/* The limit: max (--max-memory) when set, else the cgroup's or the machine's. */
static uint64_t limit_of(uint64_t max, char *what, size_t cap)
{
    if (max) {
        snprintf(what, cap, "--max-memory");
        return max;
    }
    return memory_limit(what, cap);
}

static double mb(uint64_t bytes)
{
    return (double)bytes / (1 << 20);
}

int memory_check(const struct mem_estimate *m, int workers, uint64_t max, struct err *e)
{
    char what[64];
    uint64_t limit = limit_of(max, what, sizeof what);
    if (!limit || m->total <= limit)
        return ERR_OK;
    return err_set(e, ERR_NOMEM, "this run would need about %.0f MB of memory, more than %s "
                   "(%.0f MB): the process after loading %.0f MB, pretrained networks %.0f MB, "
                   "shared feature tables %.0f MB, and %d worker%s × %.0f MB (a unit's rows "
                   "up to %.0f MB, held until it ends); use fewer workers (-j), split the "
                   "episodes over more targets or shards, or give --max-memory SIZE if the "
                   "estimate is wrong for you",
                   mb(m->total), what, mb(limit), mb(m->base), mb(m->models), mb(m->tables),
                   workers, workers == 1 ? "" : "s", mb(m->per_worker), mb(m->rows));
}

void memory_print(FILE *out, const struct mem_estimate *m, int workers, uint64_t max)
{
    char what[64];
    uint64_t limit = limit_of(max, what, sizeof what);
    fprintf(out, "memory: about %.0f MB with %d worker%s (after loading %.0f MB, pretrained "
            "networks %.0f MB, shared feature tables %.0f MB, per worker up to %.0f MB, of "
            "which a unit's rows up to %.0f MB); limit %.0f MB (%s)%s\n", mb(m->total), workers,
            workers == 1 ? "" : "s", mb(m->base), mb(m->models), mb(m->tables),
            mb(m->per_worker), mb(m->rows), mb(limit), what,
            limit && m->total > limit ? ": kshot run would refuse it" : "");
}
