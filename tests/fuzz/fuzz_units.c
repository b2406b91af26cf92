/* fuzz_units: bytes as units.csv, read by unitlist_read as `kshot merge`
 * reads a results directory's unit list. */
#include <stdint.h>
#include <stdio.h>

#include "fuzzutil.h"
#include "harness/unitlist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_file(0, "u/units.csv", data, size);
    char dir[512];
    snprintf(dir, sizeof dir, "%s/u", fuzz_dir());
    struct unitlist l;
    struct err e;
    if (unitlist_read(dir, &l, &e) == 0)
        unitlist_free(&l);
    return 0;
}
