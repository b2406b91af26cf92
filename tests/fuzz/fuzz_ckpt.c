/* fuzz_ckpt: bytes as a checkpoint, read by ckpt_read as the runner reads a
 * pretraining's network (any architecture, with its tag and extra values). */
#include <stdint.h>
#include <stdlib.h>

#include "fuzzutil.h"
#include "learners/ckpt.h"
#include "learners/mlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(0, "m.ckpt", data, size);
    struct mlp net;
    char tag[CKPT_TAG_MAX];
    float *extra = NULL;
    size_t n_extra = 0;
    struct err e;
    if (ckpt_read(path, &net, NULL, tag, &extra, &n_extra, &e) == 0) {
        mlp_free(&net);
        free(extra);
    }
    return 0;
}
