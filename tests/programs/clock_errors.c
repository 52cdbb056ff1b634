/* Which clock ids clock_gettime(2), clock_getres(2) and clock_nanosleep(2) accept, and
 * the error of each refusal, called through syscall(2) so that glibc checks nothing:
 * clock_nanosleep gives EOPNOTSUPP for a clock it cannot sleep on (the calling thread's
 * CPU clock, the raw and coarse clocks), before it reads the request, and EINVAL for
 * an id no clock has (a CPU clock id whose low bits are 3 names none,
 * clock_getcpuclockid(3)). The alarm clocks (8, 9) are left out: without an RTC the
 * kernel has none. The process CPU clock is not slept on: it does not move while the
 * process sleeps. */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <time.h>
#include "common.h"

static const char *result(long r)
{
    return r == 0 ? "0" : strerrorname_np(errno);
}

int main(void)
{
    static const int ids[] = {-1, 0, 1, 3, 4, 5, 6, 7, 10, 11, 12, 1000};
    for (unsigned i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        int c = ids[i];
        struct timespec one = {0, 1}, r;
        out("clock %d: gettime %s", c, result(syscall(SYS_clock_gettime, c, &r)));
        out(" getres %s", result(syscall(SYS_clock_getres, c, &r)));
        out(" nanosleep %s", result(syscall(SYS_clock_nanosleep, c, 0, &one, &r)));
        out(" nanosleep(NULL) %s\n", result(syscall(SYS_clock_nanosleep, c, 0, NULL, &r)));
    }
    return 0;
}
