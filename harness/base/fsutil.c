/* fsutil: atomic file replacement (temporary name, fsync, rename) and mkdir -p.
 *
 * Not here: locks, removal of stale temporaries, file formats. */
#include "harness/base/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
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
    snprintf(f->tmp, cap, "%s.tmp.%ld.%lu", path, (long)getpid(), k);
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
