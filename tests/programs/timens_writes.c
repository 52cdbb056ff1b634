/* /proc/self/timens_offsets written by every call that writes (time_namespaces(7)):
 * the file takes one write at a time at position 0 and is a seq_file, so pwrite(2)
 * and pwritev(2) refuse it (ESPIPE; a host only at offset 0, the one a program gives
 * this file: syscalls/time.py), writev(2) and pwritev2(2) at offset -1 hand it
 * each segment as a write of its own, stopping at the first that fails or is taken
 * only in part. Run as root in a namespace of its own (unshare(CLONE_NEWTIME)) that no
 * process enters until the end: nothing here changes the machine's clock. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include "common.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const char *res(long r)
{
    static char buf[32];
    if (r >= 0)
        snprintf(buf, sizeof buf, "%ld", r);
    else
        snprintf(buf, sizeof buf, "%s", strerrorname_np(errno));
    return buf;
}

/* The offsets the file shows now, on one line. */
static const char *offsets(void)
{
    static char buf[256];
    int fd = open("/proc/self/timens_offsets", O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (n < 0)
        die("read timens_offsets");
    close(fd);
    buf[n] = 0;
    for (char *p = buf; *p; p++)
        if (*p == '\n')
            *p = ';';
    for (char *p = buf, *q = buf;; p++) {   /* squeeze the columns' spaces */
        if (*p == ' ' && (q == buf || q[-1] == ' '))
            continue;
        *q++ = *p;
        if (!*p)
            break;
    }
    return buf;
}

/* A write's result, then the offsets it left (in that order: arguments of one call
 * are evaluated in any order). */
static void wrote(const char *what, long r)
{
    char result[32];
    snprintf(result, sizeof result, "%s", res(r));
    out("%s: %s -> %s\n", what, result, offsets());
}

static struct iovec seg(const char *text)
{
    return (struct iovec){(void *)text, strlen(text)};
}

int main(void)
{
    if (unshare(CLONE_NEWTIME))
        die("unshare");
    int fd = open("/proc/self/timens_offsets", O_RDWR);
    if (fd < 0)
        die("open");
    const char *mono = "monotonic 5 0";
    out("start: %s\n", offsets());

    out("pwrite at 0: %s\n", res(pwrite(fd, mono, strlen(mono), 0)));
    out("pwrite at -1: %s\n", res(syscall(SYS_pwrite64, fd, mono, strlen(mono), -1L)));
    out("pwrite, bad buffer: %s\n", res(syscall(SYS_pwrite64, fd, NULL, 5, 0L)));
    struct iovec one[] = {seg(mono)};
    out("pwritev at 0: %s\n", res(pwritev(fd, one, 1, 0)));
    out("pwritev at -1: %s\n", res(syscall(SYS_pwritev, fd, one, 1, -1L, 0L)));
    out("pwritev2 at 0: %s\n", res(pwritev2(fd, one, 1, 0, 0)));
    out("after the refusals: %s\n", offsets());

    struct iovec two[] = {seg("monotonic 1 0"), seg("boottime 2 500")};
    wrote("writev of two lines", writev(fd, two, 2));
    struct iovec bad_second[] = {seg("monotonic 3 0"), seg("bogus 1 2")};
    wrote("writev, second bad", writev(fd, bad_second, 2));
    struct iovec bad_first[] = {seg("bogus 1 2"), seg("monotonic 4 0")};
    wrote("writev, first bad", writev(fd, bad_first, 2));
    struct iovec empty_first[] = {seg(""), seg("monotonic 4 0")};
    wrote("writev, first empty", writev(fd, empty_first, 2));
    struct iovec three_lines[] = {seg("monotonic 6 0\nboottime 7 0\nmonotonic 8 0"),
                                  seg("boottime 9 0")};
    wrote("writev, three lines in one", writev(fd, three_lines, 2));
    struct iovec faulting[] = {seg("monotonic 10 0"), {NULL, 4}};
    wrote("writev, second unreadable", writev(fd, faulting, 2));
    out("writev of nothing: %s\n", res(writev(fd, two, 0)));
    out("writev of -1: %s\n", res(syscall(SYS_writev, fd, two, -1)));
    out("writev from NULL: %s\n", res(syscall(SYS_writev, fd, NULL, 1)));
    struct iovec pair[] = {seg("monotonic 11 0"), seg("boottime 12 0")};
    wrote("pwritev2 at -1", pwritev2(fd, pair, 2, -1, 0));
    out("pwritev2 at -1, RWF_APPEND: %s\n", res(pwritev2(fd, pair, 2, -1, RWF_APPEND)));
    wrote("pwritev2 at -1, RWF_HIPRI", pwritev2(fd, two, 2, -1, RWF_HIPRI));

    int ro = open("/proc/self/timens_offsets", O_RDONLY);
    out("write, read-only: %s\n", res(write(ro, mono, strlen(mono))));
    out("writev, read-only: %s\n", res(writev(ro, one, 1)));
    out("pwrite, read-only: %s\n", res(pwrite(ro, mono, strlen(mono), 0)));
    char c;
    if (read(fd, &c, 1) != 1)
        die("read");
    out("writev after a read: %s\n", res(writev(fd, one, 1)));
    out("write after a read: %s\n", res(write(fd, mono, strlen(mono))));
    lseek(fd, 0, SEEK_SET);

    pid_t pid = fork();   /* the child enters the namespace: its offsets are fixed */
    if (pid == 0)
        _exit(0);
    waitpid(pid, NULL, 0);
    out("writev once entered: %s\n", res(writev(fd, two, 2)));
    out("end: %s\n", offsets());
    return 0;
}
