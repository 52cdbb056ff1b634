/* Entering a time namespace: unshare(2) with CLONE_NEWTIME, and setns(2) with a time
 * namespace's descriptor (/proc/self/ns/time, the one the process is in already);
 * prints each call's result. Natively both need CAP_SYS_ADMIN. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include "common.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x80
#endif

static const char *res(int r)
{
    return r == 0 ? "0" : strerrorname_np(errno);
}

int main(void)
{
    int fd = open("/proc/self/ns/time", O_RDONLY);
    if (fd < 0)
        die("open");
    out("setns(time): %s\n", res(setns(fd, CLONE_NEWTIME)));
    out("setns(time, 0): %s\n", res(setns(fd, 0)));
    out("unshare(CLONE_NEWTIME): %s\n", res(unshare(CLONE_NEWTIME)));
    return 0;
}
