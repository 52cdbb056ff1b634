/* clock_settime(2) and settimeofday(2). "errors": the calling thread first drops
 * CAP_SYS_TIME from its effective set (capset(2)), then every call must fail: the
 * realtime clock with EPERM (EINVAL first for a bad timespec, EFAULT for a bad
 * pointer), clocks that cannot be set with EINVAL, CPU clocks as the kernel says. The
 * values given are the current time, so that nothing moves even if a call went
 * through. "set" (for a simulated host only, it moves CLOCK_REALTIME): sets the
 * realtime clock one year back and shows that the monotonic clock does not move,
 * that gettimeofday and time follow, and that an absolute sleep on the realtime clock
 * waits for the time set, as an absolute timer does. */
#define _GNU_SOURCE
#include <linux/capability.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include "common.h"

static const char *res(long r)
{
    return r == 0 ? "0" : strerrorname_np(errno);
}

static void drop_sys_time(void)
{
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &hdr, data))
        die("capget");
    data[0].effective &= ~(1u << CAP_SYS_TIME);
    if (syscall(SYS_capset, &hdr, data))
        die("capset");
}

static long settime(int clock, struct timespec *ts)
{
    return syscall(SYS_clock_settime, clock, ts);
}

int main(int argc, char **argv)
{
    struct timespec now, bad = {0, 1000000000};
    if (argc > 1 && !strcmp(argv[1], "set")) {
        struct timespec mono0, mono1, rt, year = {946684800 - 366 * 86400, 0};
        clock_gettime(CLOCK_MONOTONIC, &mono0);
        out("set REALTIME: %s\n", res(settime(CLOCK_REALTIME, &year)));
        clock_gettime(CLOCK_REALTIME, &rt);
        clock_gettime(CLOCK_MONOTONIC, &mono1);
        struct timeval tv;
        gettimeofday(&tv, NULL);
        out("REALTIME %ld gettimeofday %ld time %ld MONOTONIC moved %d\n", (long)rt.tv_sec,
            (long)tv.tv_sec, (long)time(NULL), mono1.tv_sec != mono0.tv_sec);
        struct timespec until = {rt.tv_sec + 5, 0};
        out("absolute REALTIME sleep: %s\n",
            res(clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &until, NULL)));
        clock_gettime(CLOCK_REALTIME, &rt);
        clock_gettime(CLOCK_MONOTONIC, &mono1);
        out("after it: REALTIME %ld, MONOTONIC +%ld s\n", (long)rt.tv_sec,
            (long)(mono1.tv_sec - mono0.tv_sec));
        struct sigevent none = {.sigev_notify = SIGEV_NONE};
        timer_t t;
        struct itimerspec at = {{0, 0}, {rt.tv_sec + 10, 0}}, left;
        timer_create(CLOCK_REALTIME, &none, &t);
        timer_settime(t, TIMER_ABSTIME, &at, NULL);
        timer_gettime(t, &left);
        out("absolute REALTIME timer 10 s ahead: %ld s left\n", (long)left.it_value.tv_sec);
        struct timeval back = {946684800, 0};
        const char *r = res(settimeofday(&back, NULL));
        out("settimeofday: %s, time %ld\n", r, (long)time(NULL));
        return 0;
    }
    drop_sys_time();
    clock_gettime(CLOCK_REALTIME, &now);
    out("REALTIME: %s\n", res(settime(CLOCK_REALTIME, &now)));
    out("REALTIME, tv_nsec 1e9: %s\n", res(settime(CLOCK_REALTIME, &bad)));
    out("REALTIME, NULL: %s\n", res(settime(CLOCK_REALTIME, NULL)));
    static const int others[] = {CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID,
                                 CLOCK_THREAD_CPUTIME_ID, CLOCK_MONOTONIC_RAW,
                                 CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE,
                                 CLOCK_BOOTTIME, CLOCK_TAI, 10, 100, -1, -6};
    for (unsigned i = 0; i < sizeof others / sizeof others[0]; i++)
        out("clock %d: %s\n", others[i], res(settime(others[i], &now)));
    struct timeval tv;
    gettimeofday(&tv, NULL);
    out("settimeofday: %s\n", res(settimeofday(&tv, NULL)));
    struct timeval badtv = {0, 1000000};
    out("settimeofday, tv_usec 1e6: %s\n", res(settimeofday(&badtv, NULL)));
    out("settimeofday(NULL, NULL): %s\n", res(syscall(SYS_settimeofday, NULL, NULL)));
    return 0;
}
