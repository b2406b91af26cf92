/* idx: load MNIST-style IDX image and label files, plain or gzipped, into a dataset. */
#ifndef KSHOT_IDX_H
#define KSHOT_IDX_H

#include "harness/base/err.h"
#include "tasks/dataset.h"

/* Largest image payload accepted (n·rows·cols bytes), checked before any
 * allocation so that a damaged header cannot ask for terabytes. */
#define IDX_MAX_BYTES ((size_t)0x7fffffff)

/* Loading */

/* Read an images file (magic 0x00000803: unsigned bytes, dims n, rows, cols)
 * and a labels file (0x00000801: unsigned bytes, dim n) into out, which must
 * be initialised and empty. Each file may be plain or gzip-compressed (one or
 * more members); byte offsets in messages count decompressed bytes. Result:
 * classification, u8 storage, dim = rows·cols, n_classes = max label + 1,
 * name = images_path, checksum set. On failure out stays empty.
 * Errors: ERR_USAGE for a file that does not exist, ERR_IO for anything
 * wrong inside a file, ERR_NOMEM. */
int idx_load(const char *images_path, const char *labels_path,
             struct dataset *out, struct err *e);

/* The standard file names in dir for split "train" (train-images-idx3-ubyte,
 * train-labels-idx1-ubyte) or "test" (t10k-…), each with or without ".gz";
 * the plain file wins when both exist. A missing file or an unknown split is
 * ERR_USAGE. */
int idx_load_dir(const char *dir, const char *split, struct dataset *out,
                 struct err *e);

#endif
