/* lockfile: OFD locks on small files that name their holder. */
#define _GNU_SOURCE   /* F_OFD_SETLK: Linux's open-file-description locks */
#include "harness/base/lockfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness/base/fsutil.h"

static int set_lock(int fd, short type)
{
    struct flock fl;
    memset(&fl, 0, sizeof fl);   /* l_pid must be 0 for OFD locks */
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    return fcntl(fd, F_OFD_SETLK, &fl);
}

static bool busy(int err)
{
    return err == EAGAIN || err == EACCES;
}

/* Set once a file system refused fcntl locks altogether (an NFS mount
 * with nolock): its locks are then granted without locking. */
static atomic_int no_locks;

static bool unsupported(int err)
{
    if (err == ENOLCK || err == EINVAL || err == EOPNOTSUPP || err == ENOSYS) {
        atomic_store(&no_locks, 1);
        return true;
    }
    return false;
}

bool lockfile_unsupported(void)
{
    return atomic_load(&no_locks) != 0;
}

static void read_holder(int fd, char *holder, size_t cap)
{
    if (!cap)
        return;
    ssize_t n = pread(fd, holder, cap - 1, 0);
    holder[n > 0 ? n : 0] = '\0';
    holder[strcspn(holder, "\n")] = '\0';
}

int lockfile_try(struct lockfile *l, const char *path, char *holder, size_t cap, struct err *e)
{
    l->fd = -1, l->path = NULL;
    if (cap)
        holder[0] = '\0';
    for (int attempt = 0; attempt < 100; attempt++) {
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
        if (fd < 0)
            return err_set(e, ERR_IO, "%s: cannot open the lock: %s", path, strerror(errno));
        if (set_lock(fd, F_WRLCK) != 0 && !unsupported(errno)) {
            int saved = errno;
            if (busy(saved))
                read_holder(fd, holder, cap);
            close(fd);
            return busy(saved) ? 1
                               : err_set(e, ERR_IO, "%s: cannot lock: %s", path, strerror(saved));
        }
        /* a holder that released removed the file: is ours still the one at path? */
        struct stat mine, now;
        if (fstat(fd, &mine) != 0 || stat(path, &now) != 0 || mine.st_ino != now.st_ino ||
            mine.st_dev != now.st_dev) {
            close(fd);
            continue;
        }
        char host[FSUTIL_HOST_MAX], text[FSUTIL_HOST_MAX + 32];
        fsutil_host(host, sizeof host);
        int len = snprintf(text, sizeof text, "%s %ld\n", host, (long)getpid());
        if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)len, 0) != len) {
            int saved = errno;
            close(fd);   /* left for the next taker: the text is only for messages */
            return err_set(e, ERR_IO, "%s: cannot write the lock: %s", path, strerror(saved));
        }
        if (!(l->path = strdup(path))) {
            unlink(path), close(fd);
            return err_set(e, ERR_NOMEM, "%s: out of memory", path);
        }
        l->fd = fd;
        return ERR_OK;
    }
    return err_set(e, ERR_IO, "%s: the lock file keeps being replaced while it is taken", path);
}

int lockfile_wait(struct lockfile *l, const char *path, volatile sig_atomic_t *stop,
                  void (*waiting)(void *ctx, const char *holder), void *ctx, struct err *e)
{
    long delay_ms = 50;
    for (bool told = false;;) {
        char holder[LOCKFILE_HOLDER_MAX];
        int rc = lockfile_try(l, path, holder, sizeof holder, e);
        if (rc != 1)
            return rc;
        if (!told && waiting)
            waiting(ctx, holder);
        told = true;
        if (stop && *stop)
            return err_set(e, ERR_STOPPED, "%s: stopped while waiting for the lock", path);
        struct timespec ts = {0, delay_ms * 1000000L};
        nanosleep(&ts, NULL);
        if (delay_ms < 200)
            delay_ms *= 2;
    }
}

void lockfile_release(struct lockfile *l)
{
    if (l->fd < 0)
        return;
    unlink(l->path);   /* before the lock goes: see the header */
    close(l->fd);
    free(l->path);
    l->fd = -1, l->path = NULL;
}

int lockfile_shared(struct lockfile *l, const char *path, struct err *e)
{
    l->fd = -1, l->path = NULL;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0)
        return err_set(e, ERR_IO, "%s: cannot open the lock: %s", path, strerror(errno));
    if (set_lock(fd, F_RDLCK) != 0 && !unsupported(errno)) {
        int saved = errno;
        close(fd);
        if (busy(saved))
            return err_set(e, ERR_IO, "%s: another kshot process is starting this results "
                           "directory over (--fresh); run again when it has", path);
        return err_set(e, ERR_IO, "%s: cannot lock: %s", path, strerror(saved));
    }
    l->fd = fd;
    return ERR_OK;
}

int lockfile_upgrade(struct lockfile *l)
{
    return set_lock(l->fd, F_WRLCK) == 0 ? ERR_OK : 1;
}

void lockfile_downgrade(struct lockfile *l)
{
    set_lock(l->fd, F_RDLCK);
}

void lockfile_close(struct lockfile *l)
{
    if (l->fd >= 0)
        close(l->fd);
    free(l->path);
    l->fd = -1, l->path = NULL;
}
