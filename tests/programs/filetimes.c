/* filetimes DIR [SECONDS]: file times against the clock (stat(2), utimensat(2)).
 * Writes DIR/f, sleeps SECONDS (default 5), and checks with every stat call (stat,
 * lstat, fstat as a raw system call, newfstatat, statx) that the file's mtime is
 * SECONDS before CLOCK_REALTIME's now; then that explicit times set with utimensat read
 * back exactly (one of the past, one inside the sleep, one an hour ahead), and that
 * UTIME_NOW and futimens(fd, NULL) stamp the clock's now. Prints "NAME: yes" or
 * "NAME: no" per check on stdout, and the values of a failed one on stderr; exit status:
 * the checks that failed. Slack for the machine's kernel: a stamp may be a tick (10 ms) early where the
 * file system stamps coarse times. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "common.h"

#define NS 1000000000LL
#define TICK (NS / 100)

static int failures;

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * NS + ts.tv_nsec;
}

static long long ns_of(struct timespec ts) { return ts.tv_sec * NS + ts.tv_nsec; }

static void check(const char *name, int ok, long long a, long long b)
{
    out("%s: %s\n", name, ok ? "yes" : "no");
    if (!ok)
        fprintf(stderr, "%s: %lld %lld\n", name, a, b);
    failures += !ok;
}

static long long mtime_by(const char *how, const char *path, int fd)
{
    struct stat st;
    struct statx stx;
    int r;
    if (!strcmp(how, "stat"))
        r = stat(path, &st);
    else if (!strcmp(how, "lstat"))
        r = lstat(path, &st);
    else if (!strcmp(how, "fstat"))
        r = (int)syscall(SYS_fstat, fd, &st);
    else if (!strcmp(how, "newfstatat"))
        r = (int)syscall(SYS_newfstatat, AT_FDCWD, path, &st, 0);
    else {
        r = statx(AT_FDCWD, path, 0, STATX_MTIME | STATX_ATIME, &stx);
        if (r == 0)
            return stx.stx_mtime.tv_sec * NS + stx.stx_mtime.tv_nsec;
    }
    if (r != 0)
        die(how);
    return ns_of(st.st_mtim);
}

static void set_times(const char *path, long long atime, long long mtime)
{
    struct timespec times[2] = {{atime / NS, atime % NS}, {mtime / NS, mtime % NS}};
    if (utimensat(AT_FDCWD, path, times, 0) != 0)
        die("utimensat");
}

static void explicit_times(const char *name, const char *path, long long atime, long long mtime)
{
    struct stat st;
    set_times(path, atime, mtime);
    if (stat(path, &st) != 0)
        die("stat");
    check(name, ns_of(st.st_atim) == atime && ns_of(st.st_mtim) == mtime,
          ns_of(st.st_atim) - atime, ns_of(st.st_mtim) - mtime);
}

int main(int argc, char **argv)
{
    static const char *hows[] = {"stat", "lstat", "fstat", "newfstatat", "statx"};
    char path[4096];
    if (argc < 2)
        die("usage: filetimes DIR [SECONDS]");
    int seconds = argc > 2 ? atoi(argv[2]) : 5;
    snprintf(path, sizeof path, "%s/f", argv[1]);

    long long before = now_ns();
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    if (fd < 0 || write(fd, "x", 1) != 1)
        die("write");
    long long after = now_ns();
    long long written = mtime_by("fstat", path, fd);
    check("written now", before - TICK <= written && written <= after, written - before,
          after - written);

    sleep((unsigned)seconds);
    for (size_t i = 0; i < sizeof hows / sizeof *hows; i++) {
        char name[64];
        long long now = now_ns(), mtime = mtime_by(hows[i], path, fd);
        snprintf(name, sizeof name, "%s after the sleep", hows[i]);
        check(name, mtime == written && now - mtime >= seconds * NS
              && now - mtime < seconds * NS + NS / 2, now - mtime, mtime - written);
    }

    long long now = now_ns();
    explicit_times("explicit past", path, 1234567890LL * NS + 123456789, 1111111111LL * NS + 5);
    explicit_times("explicit in the sleep", path, now - seconds * NS / 2, now - seconds * NS / 3);
    explicit_times("explicit ahead", path, now + 3600 * NS, now + 3600 * NS + 7);

    struct timespec at_now[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
    before = now_ns();
    if (utimensat(AT_FDCWD, path, at_now, 0) != 0)
        die("utimensat UTIME_NOW");
    after = now_ns();
    long long stamped = mtime_by("stat", path, fd);
    check("UTIME_NOW", before - TICK <= stamped && stamped <= after, stamped - before,
          after - stamped);

    sleep(1);
    before = now_ns();
    if (futimens(fd, NULL) != 0)
        die("futimens NULL");
    after = now_ns();
    stamped = mtime_by("fstat", path, fd);
    check("futimens NULL", before - TICK <= stamped && stamped <= after, stamped - before,
          after - stamped);
    close(fd);
    return failures;
}
