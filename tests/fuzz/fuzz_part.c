/* fuzz_part: bytes as a unit's part file, read the way a run's end and
 * `kshot merge` read it: results_rebuild verifies it (check line, unit id,
 * record count, CRC-32), then joins its rows into episodes.csv and
 * summarises them. An input whose first byte is even is taken as the part's
 * body, and the target writes a correct check line before it, so that the
 * CSV reader behind the check is reached too; odd inputs are whole files. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzzutil.h"
#include "harness/plan.h"
#include "harness/results.h"
#include "harness/unitlist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ID "0123456789abcdef0123456789abcdef"

/* body behind the check line kshot writes (results_part_line), malloc'd */
static uint8_t *with_line(const uint8_t *body, size_t n, size_t *len)
{
    char line[PART_LINE_MAX];
    results_part_line(ID, (const char *)body, n, line, sizeof line);
    size_t k = strlen(line);
    uint8_t *buf = malloc(k + n + 1);
    if (!buf)
        abort();
    memcpy(buf, line, k);
    memcpy(buf + k, body, n);
    *len = k + n;
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct unitlist ul;
    static struct ulabel u = {.id = ID, .kind = UNIT_EVAL, .first = true, .seed = 0,
                              .shots = 1, .ways = 2};
    if (!ul.n) {
        u.experiment = "x", u.variant = "base", u.source = "s", u.target = "t";
        u.learner = "l";
        ul.n = 1, ul.u = &u;
    }
    if (size < 1)
        return 0;
    static const char cost_body[] =
        "episodes,phase,cpu_seconds,wall_seconds,flops,joules,joules_method,peak_rss_kb,blas_core\n"
        "2,adapt+evaluate,0.5,0.5,100,1,estimate,1000,Haswell\n";
    size_t cost_len;
    uint8_t *cost = with_line((const uint8_t *)cost_body, strlen(cost_body), &cost_len);
    fuzz_file(0, "r/parts/" ID ".cost.csv", cost, cost_len);
    free(cost);
    if (data[0] % 2 == 0) {
        size_t len;
        uint8_t *part = with_line(data + 1, size - 1, &len);
        fuzz_file(1, "r/parts/" ID ".csv", part, len);
        free(part);
    } else {
        fuzz_file(1, "r/parts/" ID ".csv", data + 1, size - 1);
    }
    char dir[512];
    snprintf(dir, sizeof dir, "%s/r", fuzz_dir());
    int missing;
    struct err e;
    results_rebuild(dir, &ul, &missing, &e);
    return 0;
}
