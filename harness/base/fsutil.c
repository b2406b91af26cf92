/* fsutil: atomic file replacement (temporary name, fsync, rename), mkdir -p,
 * and removing the temporaries a killed process left.
 *
 * Not here: locks, file formats. */
#include "harness/base/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Distinguishes temporaries of one process (several workers, or one unit
 * rewritten); the pid distinguishes processes. */
static atomic_ulong tmp_counter;

static void afile_clear(struct afile *f)
{
    f->fp = NULL;
    f->path = NULL;
    f->tmp = NULL;
}

static void afile_release(struct afile *f)
{
    free(f->path);
    free(f->tmp);
    afile_clear(f);
}

int afile_open(struct afile *f, const char *path, struct err *e)
{
    afile_clear(f);
    unsigned long k = atomic_fetch_add(&tmp_counter, 1);
    size_t cap = strlen(path) + 64;
    f->path = strdup(path);
    f->tmp = malloc(cap);
    if (!f->path || !f->tmp) {
        afile_release(f);
        return err_set(e, ERR_NOMEM, "%s: out of memory", path);
    }
    char host[FSUTIL_HOST_MAX];
    fsutil_host(host, sizeof host);
    size_t need = strlen(path) + strlen(host) + 64;
    if (need > cap) {
        char *t = realloc(f->tmp, need);
        if (!t) {
            afile_release(f);
            return err_set(e, ERR_NOMEM, "%s: out of memory", path);
        }
        f->tmp = t, cap = need;
    }
    snprintf(f->tmp, cap, "%s.tmp.%s.%ld.%lu", path, host, (long)getpid(), k);
    int fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
        int rc = err_set(e, ERR_IO, "%s: cannot create: %s", f->tmp, strerror(errno));
        afile_release(f);
        return rc;
    }
    f->fp = fdopen(fd, "w");
    if (!f->fp) {
        int rc = err_set(e, ERR_IO, "%s: cannot open: %s", f->tmp, strerror(errno));
        close(fd);
        unlink(f->tmp);
        afile_release(f);
        return rc;
    }
    return 0;
}

/* fsync the directory holding path, so that the rename itself survives a
 * crash. */
static int sync_dir(const char *path, struct err *e)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    if (!dir)
        return err_set(e, ERR_NOMEM, "%s: out of memory", path);
    int rc = 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        rc = err_set(e, ERR_IO, "%s: cannot open directory %s: %s", path, dir, strerror(errno));
    else if (fsync(fd) != 0 && errno != EINVAL)
        rc = err_set(e, ERR_IO, "%s: cannot sync directory %s: %s", path, dir, strerror(errno));
    if (fd >= 0)
        close(fd);
    free(dir);
    return rc;
}

int afile_commit(struct afile *f, struct err *e)
{
    int rc = 0;
    if (!f->fp)
        return err_set(e, ERR_IO, "afile_commit: file is not open");
    /* ferror first: an earlier buffered write may have failed silently. */
    if (ferror(f->fp) || fflush(f->fp) != 0 || fsync(fileno(f->fp)) != 0) {
        rc = err_set(e, ERR_IO, "%s: cannot write: %s", f->tmp, strerror(errno));
        fclose(f->fp);
        goto fail;
    }
    if (fclose(f->fp) != 0) {
        rc = err_set(e, ERR_IO, "%s: cannot write: %s", f->tmp, strerror(errno));
        goto fail;
    }
    f->fp = NULL;
    if (rename(f->tmp, f->path) != 0) {
        rc = err_set(e, ERR_IO, "%s: cannot rename %s over it: %s", f->path, f->tmp,
                     strerror(errno));
        goto fail;
    }
    rc = sync_dir(f->path, e);
    afile_release(f);
    return rc;
fail:
    f->fp = NULL;
    unlink(f->tmp);
    afile_release(f);
    return rc;
}

void afile_abort(struct afile *f)
{
    if (!f || !f->tmp)
        return;
    if (f->fp)
        fclose(f->fp);
    unlink(f->tmp);
    afile_release(f);
}

/* mkdir one directory; an existing directory is fine. */
static int mkdir_one(const char *dir, struct err *e)
{
    if (mkdir(dir, 0777) == 0)
        return 0;
    int saved = errno;
    struct stat st;
    if (saved == EEXIST && stat(dir, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return 0;
        return err_set(e, ERR_USAGE, "%s: exists and is not a directory (a results directory "
                       "must be one: -o or output.dir)", dir);
    }
    return err_set(e, ERR_IO, "%s: cannot create directory: %s", dir, strerror(saved));
}

int fsutil_mkdirs(const char *path, struct err *e)
{
    if (!path || !*path)
        return err_set(e, ERR_IO, "cannot create a directory with an empty name");
    char *dir = strdup(path);
    if (!dir)
        return err_set(e, ERR_NOMEM, "%s: out of memory", path);
    int rc = 0;
    /* Create each prefix ending before a '/', then the whole path; a leading
     * '/' and repeated or trailing slashes produce no empty names. */
    for (char *p = dir + 1; *p && rc == 0; p++) {
        if (*p != '/' || p[-1] == '/')
            continue;
        *p = '\0';
        rc = mkdir_one(dir, e);
        *p = '/';
    }
    if (rc == 0)
        rc = mkdir_one(dir, e);
    free(dir);
    return rc;
}

/* ---- stale temporaries ---- */

void fsutil_host(char *buf, size_t cap)
{
    if (gethostname(buf, cap) != 0 || !buf[0])
        snprintf(buf, cap, "localhost");
    buf[cap - 1] = '\0';
    for (char *c = buf; *c; c++)   /* a host name in a file name: no separators */
        if (*c == '/' || *c == ' ')
            *c = '_';
}

/* name's temporary suffix ".tmp.<host>.<pid>.<n>": its host and pid. */
static bool tmp_owner(const char *name, char *host, size_t cap, long *pid)
{
    const char *t = strstr(name, ".tmp.");
    if (!t)
        return false;
    for (const char *next; (next = strstr(t + 1, ".tmp.")); )   /* the last one */
        t = next;
    const char *last = strrchr(t, '.');                          /* before <n> */
    if (last == t + 4)
        return false;
    const char *mid = last - 1;
    while (mid > t + 4 && *mid != '.')
        mid--;                                                   /* before <pid> */
    if (mid <= t + 4)
        return false;
    char *end;
    *pid = strtol(mid + 1, &end, 10);
    if (end != last || *pid <= 0)
        return false;
    size_t n = (size_t)(mid - (t + 5));
    if (n == 0 || n >= cap)
        return false;
    memcpy(host, t + 5, n), host[n] = '\0';
    return true;
}

int fsutil_clean_stale(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    char me[FSUTIL_HOST_MAX], host[FSUTIL_HOST_MAX], path[4096];
    fsutil_host(me, sizeof me);
    int removed = 0;
    for (struct dirent *de; (de = readdir(d));) {
        long pid;
        if (!tmp_owner(de->d_name, host, sizeof host, &pid) || strcmp(host, me) != 0)
            continue;   /* not a temporary, or another host's: its owner may be alive there */
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;   /* its owner runs (or we may not ask): leave it */
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        removed += unlink(path) == 0;
    }
    closedir(d);
    return removed;
}
