/* ckpt: checkpoint files — a network's architecture and parameters, checked.
 *
 * Layout (all little-endian): magic "KSHOTCKP" (8 bytes), u32 format
 * version, u32 n_layers, u32 sizes[n_layers+1], u32 activation, u64
 * n_params, u64 n_extra, u32 tag length, tag bytes, f32 params[n_params],
 * f32 extra[n_extra] (learner-specific state, e.g. per-parameter learning
 * rates), u32 CRC32 (zlib) of every byte before it. Written through
 * fsutil's afile (a temporary name in the same directory, fsynced,
 * renamed over path, directory fsynced). */
#ifndef KSHOT_CKPT_H
#define KSHOT_CKPT_H

#include <stddef.h>

#include "harness/base/err.h"
#include "learners/mlp.h"

#define CKPT_VERSION 2   /* 2: weights stored (in, out), as mlp.h's arena holds them */
#define CKPT_TAG_MAX 256

int ckpt_write(const char *path, const struct mlp *net, const char *tag,
               const float *extra, size_t n_extra, struct err *e);

/* Read path into net (initialised here; mlp_free it after). If expect is not
 * NULL the file's architecture must equal it. tag (cap CKPT_TAG_MAX) and
 * *extra (malloc'd, n_extra floats) are optional outputs. A truncated,
 * corrupted (CRC), wrong-magic, wrong-version or wrong-architecture file is
 * refused with ERR_IO and a message that says which. */
int ckpt_read(const char *path, struct mlp *net, const struct mlp_arch *expect,
              char *tag, float **extra, size_t *n_extra, struct err *e);

#endif
