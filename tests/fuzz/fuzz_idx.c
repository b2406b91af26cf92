/* fuzz_idx: bytes as an IDX images file and an IDX labels file (plain or
 * gzipped: the loader tells by the bytes), read by idx_load. The input is
 * split after the length its first two bytes give. */
#include <stdint.h>

#include "fuzzutil.h"
#include "tasks/idx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t cut = (size_t)data[0] << 8 | data[1];
    data += 2, size -= 2;
    if (cut > size)
        cut = size;
    const char *images = fuzz_file(0, "images-idx3-ubyte", data, cut);
    const char *labels = fuzz_file(1, "labels-idx1-ubyte", data + cut, size - cut);
    struct dataset d;
    struct err e;
    dataset_init(&d);
    if (idx_load(images, labels, &d, &e) == 0)
        dataset_free(&d);
    return 0;
}
