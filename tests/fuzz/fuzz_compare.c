/* fuzz_compare: bytes as a results directory's episodes.csv: summarised into
 * summary.csv as a run's end does, then compared as `kshot compare DIR
 * --format csv` does — the readers compare and merge use. */
#include <stdint.h>
#include <stdio.h>

#include "fuzzutil.h"
#include "harness/compare.h"
#include "harness/summary.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *eps = fuzz_file(0, "c/episodes.csv", data, size);
    char dir[512], sum[600];
    snprintf(dir, sizeof dir, "%s/c", fuzz_dir());
    snprintf(sum, sizeof sum, "%s/summary.csv", dir);
    struct summary_opts so = {.baseline = size % 3 ? "finetune" : NULL};
    struct err e;
    if (summary_write(eps, sum, &so, &e) != 0)
        return 0;
    FILE *out = fopen("/dev/null", "w");
    struct compare_opts o = {.dirs = {dir}, .n_dirs = 1,
                             .format = size % 2 ? COMPARE_CSV : COMPARE_TEXT};
    compare_run(&o, out, &e);
    fclose(out);
    return 0;
}
