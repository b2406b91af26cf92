/* fuzzutil: scratch files for the fuzz targets. */
#include "fuzzutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];

static void remove_dir(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz: could not remove %s\n", dir);
}

const char *fuzz_dir(void)
{
    if (!dir[0]) {
        struct stat st;
        snprintf(dir, sizeof dir, "%s/kshot-fuzz-%ld",
                 stat("/dev/shm", &st) == 0 ? "/dev/shm" : "/tmp", (long)getpid());
        if (mkdir(dir, 0700) != 0) {
            perror(dir);
            abort();
        }
        atexit(remove_dir);
    }
    return dir;
}

const char *fuzz_file(int k, const char *name, const uint8_t *data, size_t size)
{
    static char paths[4][512];
    char *path = paths[k];
    snprintf(path, sizeof paths[k], "%s/%s", fuzz_dir(), name);
    for (char *s = path + strlen(fuzz_dir()) + 1; (s = strchr(s, '/')); s++) {
        *s = '\0';
        mkdir(path, 0700);
        *s = '/';
    }
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(path);
        abort();
    }
    return path;
}
