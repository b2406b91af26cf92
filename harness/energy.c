/* energy: RAPL package counters through powercap, or an estimate from CPU time. */
#include "harness/energy.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A counter file's value; 0 when it cannot be read. */
static int read_u64(const char *path, uint64_t *v)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int ok = fscanf(f, "%" SCNu64, v) == 1;
    fclose(f);
    return ok ? 0 : -1;
}

/* A top-level package zone: "intel-rapl:" then digits only (subzones add ":N"). */
static bool package_zone(const char *name)
{
    const char *p = "intel-rapl:";
    if (strncmp(name, p, strlen(p)) != 0 || !name[strlen(p)])
        return false;
    for (const char *c = name + strlen(p); *c; c++)
        if (*c < '0' || *c > '9')
            return false;
    return true;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void energy_open(struct energy_meter *m, const char *root, double watts_per_core)
{
    memset(m, 0, sizeof *m);
    m->watts_per_core = watts_per_core;
    DIR *d = root ? opendir(root) : NULL;
    if (!d)
        return;
    char *names[ENERGY_MAX_ZONES] = {NULL};
    int n = 0;
    for (struct dirent *de; (de = readdir(d)) && n < ENERGY_MAX_ZONES;)
        if (package_zone(de->d_name) && (names[n] = strdup(de->d_name)))
            n++;
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, by_name);   /* the same order on every run */
    for (int i = 0; i < n; i++) {
        char range[600];
        uint64_t v, r;
        snprintf(m->path[m->n], sizeof m->path[0], "%s/%s/energy_uj", root, names[i]);
        snprintf(range, sizeof range, "%s/%s/max_energy_range_uj", root, names[i]);
        if (read_u64(m->path[m->n], &v) == 0 && read_u64(range, &r) == 0 && r > 0)
            m->range[m->n++] = r;
        free(names[i]);
    }
}

void energy_mark(const struct energy_meter *m, struct energy_mark *out)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    out->process_cpu = (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
    out->ok = m->n > 0;
    for (int i = 0; i < m->n; i++)
        if (read_u64(m->path[i], &out->uj[i]) != 0)
            out->ok = false;
}

double energy_joules(const struct energy_meter *m, const struct energy_mark *a,
                     const struct energy_mark *b, double cpu_s, bool *measured)
{
    *measured = a->ok && b->ok;
    if (!*measured)
        return cpu_s * m->watts_per_core;
    double uj = 0;
    for (int i = 0; i < m->n; i++)   /* a decrease is one wrap of the counter */
        uj += (double)(b->uj[i] >= a->uj[i] ? b->uj[i] - a->uj[i]
                                            : m->range[i] - a->uj[i] + b->uj[i]);
    double process = b->process_cpu - a->process_cpu;
    double share = process > 0 && cpu_s < process ? cpu_s / process : 1.0;
    return 1e-6 * uj * share;
}

const char *energy_method(bool measured)
{
    return measured ? "rapl" : "estimate";
}
