/* fsutil: files that appear whole or not at all, and directories made on demand.
 *
 * An afile is written under a temporary name in the same directory as its
 * final path, "<path>.tmp.<pid>.<counter>" (unique per process and call,
 * so workers writing the same unit never share a temporary), and becomes
 * visible only when committed: fflush, fsync, fclose, rename over path,
 * fsync of the directory. A killed run therefore leaves either the old
 * file, the new one, or a stray *.tmp.* file — never a half-written path.
 * kshot uses it for parts/<unit-id>.csv, episodes.csv, summary.csv and the other
 * results files.
 *
 * Not here: locking (two writers of one path both succeed; the last rename
 * wins, which is fine because both wrote the same bytes), cleanup of
 * temporaries left by killed processes, anything about file contents. */
#ifndef KSHOT_FSUTIL_H
#define KSHOT_FSUTIL_H

#include <stdio.h>

#include "harness/base/err.h"

struct afile {
    FILE *fp;    /* write here between afile_open and commit/abort */
    char *path;  /* final name */
    char *tmp;   /* temporary name, same directory */
};

/* Create the temporary file (exclusively, mode 0666 & ~umask) and open
 * f->fp on it for writing. On failure f is cleared (afile_abort(f) is then
 * a no-op) and an ERR_IO/ERR_NOMEM code is returned with a message naming
 * the temporary file. The directory must exist (see fsutil_mkdirs). */
int afile_open(struct afile *f, const char *path, struct err *e);

/* Make the written bytes path's contents, durably. Checks for earlier write
 * errors on f->fp too. On failure before the rename the temporary file is
 * removed and path is untouched. Either way f is released and cleared.
 * A directory fsync refused with EINVAL (file systems that cannot sync a
 * directory) is not an error. */
int afile_commit(struct afile *f, struct err *e);

/* Close and remove the temporary file; path is untouched. Safe on a
 * cleared afile (after a failed open, a commit or an abort). */
void afile_abort(struct afile *f);

/* mkdir -p: create path and any missing parents (mode 0777 & ~umask).
 * Existing directories are fine; a component that exists and is not a
 * directory, or an empty path, is an ERR_IO error naming it. */
#define FSUTIL_HOST_MAX 128

/* This machine's host name, as temporary file names carry it. */
void fsutil_host(char *buf, size_t cap);

/* Remove from dir (not below it) the temporaries "<file>.tmp.<host>.<pid>.<n>"
 * that a process of this host which no longer exists left (a kill -9):
 * another host's are kept, whatever their pid, as are those of a process
 * that runs. Returns how many were removed. */
int fsutil_clean_stale(const char *dir);

int fsutil_mkdirs(const char *path, struct err *e);

#endif
