/* bench_load: wall time of idx_load_dir on the Fashion-MNIST train split (median and best of 5).
 *
 * Usage: bench_load [DIR [SPLIT]]; default /usr/share/datasets/fashion-mnist
 * train. Prints rows/s and MB/s of decompressed pixels; exits 77 (skipped)
 * when the directory is absent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/base/meter.h"
#include "tasks/idx.h"
#include "tests/bench/benchutil.h"

#define REPEATS 5

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
    const char *split = argc > 2 ? argv[2] : "train";
    double secs[REPEATS];
    size_t n = 0, bytes = 0;
    for (int r = 0; r < REPEATS; r++) {
        struct dataset d;
        struct err e = {0};
        dataset_init(&d);
        double t0 = meter_wall();
        int rc = idx_load_dir(dir, split, &d, &e);
        secs[r] = meter_wall() - t0;
        if (rc) {
            fprintf(stderr, "bench_load: %s\n", e.msg);
            return rc == ERR_USAGE ? 77 : 1;
        }
        n = d.n;
        bytes = d.n * d.dim;
        dataset_free(&d);
    }
    double med = bench_median(secs, REPEATS), best = secs[0];
    printf("bench_load: %s %s: %zu rows, %.1f MB of pixels, %d runs\n", dir, split, n,
           (double)bytes / 1e6, REPEATS);
    printf("  median %.1f ms  min %.1f ms  %.0f rows/s  %.1f MB/s (median)\n", 1e3 * med,
           1e3 * best, (double)n / med, (double)bytes / 1e6 / med);
    return 0;
}
