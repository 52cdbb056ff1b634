/* LD_PRELOAD guard for tests that set a clock: clock_settime(2) never reaches the
 * kernel. Each call appends its clock id to the file $SETTIME_CALLS and fails with
 * EPERM, as for a caller without CAP_SYS_TIME. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int clock_settime(clockid_t clock_id, const struct timespec *tp)
{
    (void)tp;
    const char *calls = getenv("SETTIME_CALLS");
    if (calls != NULL) {
        int fd = open(calls, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd >= 0) {
            dprintf(fd, "%d ", (int)clock_id);
            close(fd);
        }
    }
    errno = EPERM;
    return -1;
}
