/* lockfile: exclusive locks between processes (and threads) on one results directory.
 *
 * A lock is an open-file-description lock (fcntl F_OFD_SETLK) on a small
 * file whose text names the holder ("<host> <pid>"), for the messages of
 * those who wait. The kernel drops the lock when its holder dies, however
 * it dies, so a kill -9 leaves no stale lock on this host: the next process
 * takes it over at once. Another host's lock (on a network file system
 * that supports fcntl locks, as NFS does through its lock manager) is
 * respected until that host's lock is released or reclaimed. Being OFD
 * locks, two threads of one process that open the file separately exclude
 * each other too.
 *
 * Releasing removes the file while still holding the lock; a waiter that
 * opened the removed file gets the lock on it, sees that the path now names
 * another file (or none) and tries again, so two holders never coexist.
 *
 * A directory lock (lockfile_shared / lockfile_upgrade) is taken shared by
 * every run and exclusively by `--fresh`, which may then empty the
 * directory. Not here: what a lock protects (runner). */
#ifndef KSHOT_LOCKFILE_H
#define KSHOT_LOCKFILE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "harness/base/err.h"

struct lockfile {
    int fd;        /* -1 when not held */
    char *path;
};

#define LOCKFILE_HOLDER_MAX 160

/* Take the exclusive lock at path (the file is created when missing).
 * ERR_OK: taken (l holds it); 1: another process or thread holds it
 * (holder gets its "<host> <pid>", or "" while it is writing it);
 * ERR_IO / ERR_NOMEM naming path otherwise. */
int lockfile_try(struct lockfile *l, const char *path, char *holder, size_t cap, struct err *e);

/* Take it, waiting as long as it is held: waiting(ctx, holder) is called
 * once when the wait starts. Polls every 50–200 ms and gives up with
 * ERR_STOPPED when *stop becomes nonzero. */
int lockfile_wait(struct lockfile *l, const char *path, volatile sig_atomic_t *stop,
                  void (*waiting)(void *ctx, const char *holder), void *ctx, struct err *e);

/* Remove the file and release the lock; a no-op when l holds nothing. */
void lockfile_release(struct lockfile *l);

/* The directory lock: shared by every run (never refused while only runs
 * hold it; ERR_IO when another holds it exclusively, i.e. a --fresh is
 * emptying the directory). It is not removed on release. */
int lockfile_shared(struct lockfile *l, const char *path, struct err *e);

/* Turn a shared directory lock into an exclusive one without waiting:
 * ERR_OK, or 1 when another process holds it too. */
int lockfile_upgrade(struct lockfile *l);

/* Back to shared (after --fresh has emptied the directory). */
void lockfile_downgrade(struct lockfile *l);

/* Release the directory lock, leaving its file. */
void lockfile_close(struct lockfile *l);

/* Has a file system refused fcntl locks altogether (ENOLCK: an NFS mount
 * without a lock manager)? Its locks are then granted without locking,
 * so that kshot still runs there; concurrent runs may then compute a unit
 * twice (the same bytes), and the runner says so. */
bool lockfile_unsupported(void);

#endif
