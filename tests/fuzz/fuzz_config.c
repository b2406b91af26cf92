/* fuzz_config: bytes as an experiment file → a validated experiment or a
 * located error, through config_load as `kshot run` calls it. */
#include <stdint.h>
#include <stdlib.h>

#include "fuzzutil.h"
#include "harness/config.h"
#include "harness/yamltree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(0, "x.yaml", data, size);
    struct experiment x;
    struct yt_doc doc = {0};
    struct err e;
    if (config_load(path, NULL, 0, &x, &doc, &e) == 0)
        config_free(&x);
    yt_free(&doc);
    return 0;
}
