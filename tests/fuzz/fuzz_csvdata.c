/* fuzz_csvdata: bytes as a CSV data file, read by csvdata_load for
 * classification (label in column 0) or regression (target column "y"),
 * chosen by the input's length. */
#include <stdint.h>

#include "fuzzutil.h"
#include "tasks/csvdata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(0, "data.csv", data, size);
    static const char *const targets[] = {"y"};
    struct csvdata_options o = {.label = "0"};
    if (size % 2)
        o = (struct csvdata_options){.targets = targets, .n_targets = 1};
    struct dataset d;
    struct err e;
    dataset_init(&d);
    if (csvdata_load(path, &o, &d, &e) == 0)
        dataset_free(&d);
    return 0;
}
