/* Segment names and raw, peer's-eye access to shared-memory objects. */
#define _GNU_SOURCE
#include "shim.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

void shim_unique_name(char *out, size_t len, const char *tag)
{
    static unsigned counter;
    const char *run = getenv("SHIM_NAME_RUN"); /* see shim.h */
    if (run != NULL && run[0] != '\0')
        snprintf(out, len, "dllmem-t%s-%ld-%u-%s", run, (long)getpid(), counter++, tag);
    else
        snprintf(out, len, "dllmem-t%ld-%u-%s", (long)getpid(), counter++, tag);
}

bool shim_segment_stat(const char *name, uint64_t *size, unsigned *mode, unsigned *uid)
{
    char path[512];
    struct stat sb;
    snprintf(path, sizeof path, "/dev/shm/%s", name);
    if (lstat(path, &sb) != 0)
        return false;
    if (size != NULL)
        *size = (uint64_t)sb.st_size;
    if (mode != NULL)
        *mode = (unsigned)sb.st_mode;
    if (uid != NULL)
        *uid = (unsigned)sb.st_uid;
    return true;
}

bool shim_segment_exists(const char *name) { return shim_segment_stat(name, NULL, NULL, NULL); }

bool shim_segment_remove(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "/dev/shm/%s", name);
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return false;
    if (S_ISDIR(sb.st_mode))
        rmdir(path);
    else
        unlink(path);
    return true;
}

void *shim_segment_map(const char *name, uint64_t *size)
{
    char on[512];
    struct stat sb;
    if (!shim_object_name(on, sizeof on, name, ""))
        return NULL;
    int fd = shm_open(on, O_RDWR, 0);
    if (fd < 0)
        return NULL;
    void *p = MAP_FAILED;
    if (fstat(fd, &sb) == 0 && sb.st_size > 0)
        p = mmap(NULL, (size_t)sb.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return NULL;
    *size = (uint64_t)sb.st_size;
    return p;
}

void shim_segment_unmap(void *p, uint64_t size)
{
    if (p != NULL)
        munmap(p, (size_t)size);
}

bool shim_segment_create(const char *name, uint64_t size, unsigned char fill, unsigned mode)
{
    char on[512];
    if (!shim_object_name(on, sizeof on, name, ""))
        return false;
    int fd = shm_open(on, O_RDWR | O_CREAT | O_EXCL, mode);
    if (fd < 0)
        return false;
    bool ok = fchmod(fd, mode) == 0 && ftruncate(fd, (off_t)size) == 0;
    if (ok && size > 0 && fill != 0) {
        void *p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        ok = p != MAP_FAILED;
        if (ok) {
            memset(p, fill, (size_t)size);
            munmap(p, (size_t)size);
        }
    }
    close(fd);
    return ok;
}

static int count_lines_or_entries(const char *what)
{
    int n = 0;
    if (strcmp(what, "fd") == 0) {
        DIR *d = opendir("/proc/self/fd");
        if (d == NULL)
            return -1;
        while (readdir(d) != NULL)
            n++;
        closedir(d);
        return n;
    }
    FILE *f = fopen("/proc/self/maps", "re");
    if (f == NULL)
        return -1;
    int c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

int shim_count_fds(void) { return count_lines_or_entries("fd"); }
int shim_count_maps(void) { return count_lines_or_entries("maps"); }
