/* fuzzutil: what kshot's libFuzzer targets share — inputs put where kshot
 * reads them: files in a directory of the fuzzing process's own. */
#ifndef KSHOT_FUZZUTIL_H
#define KSHOT_FUZZUTIL_H

#include <stddef.h>
#include <stdint.h>

/* The process's scratch directory (made on first use, under /dev/shm when
 * it exists, else /tmp; removed at exit). */
const char *fuzz_dir(void);

/* Write size bytes of data to fuzz_dir()/name (directories under it made)
 * and return its path (a static buffer per call slot k, 0 ≤ k < 4). */
const char *fuzz_file(int k, const char *name, const uint8_t *data, size_t size);

#endif
