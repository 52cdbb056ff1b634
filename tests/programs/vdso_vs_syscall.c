/* vdso_vs_syscall [SET]: every clock read both ways, through libc (the vDSO answers
 * when it can) and through syscall(2) (always the kernel, in a host the trapped
 * call). One line per read: "NAME libc RC VALUE sys RC VALUE", values in ns (0 when
 * the call failed, then RC is the errno name). With SET, CLOCK_REALTIME is first set
 * 1,000 s ahead (needs CAP_SYS_TIME), then every read is made again. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include "common.h"

static void both(const char *name, long long lv, int lrc, long long sv, int src)
{
    out("%s libc %s %lld sys %s %lld\n", name, lrc ? errname(lrc) : "0", lrc ? 0 : lv,
        src ? errname(src) : "0", src ? 0 : sv);
}

static void round_(const char *tag)
{
    static const int ids[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, -1, -6, 0x7fffffff};
    char name[64];
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        struct timespec a = {0, 0}, b = {0, 0};
        errno = 0;
        int lrc = clock_gettime(ids[i], &a) ? errno : 0;
        errno = 0;
        int src = syscall(SYS_clock_gettime, ids[i], &b) ? errno : 0;
        snprintf(name, sizeof name, "%s clock %d", tag, ids[i]);
        both(name, a.tv_sec * 1000000000LL + a.tv_nsec, lrc,
             b.tv_sec * 1000000000LL + b.tv_nsec, src);
    }
    struct timeval tv1, tv2;
    struct timezone tz1 = {7, 7}, tz2 = {7, 7};
    int lrc = gettimeofday(&tv1, &tz1) ? errno : 0;
    int src = syscall(SYS_gettimeofday, &tv2, &tz2) ? errno : 0;
    snprintf(name, sizeof name, "%s gettimeofday", tag);
    both(name, tv1.tv_sec * 1000000LL + tv1.tv_usec, lrc, tv2.tv_sec * 1000000LL + tv2.tv_usec, src);
    snprintf(name, sizeof name, "%s timezone", tag);
    both(name, tz1.tz_minuteswest * 100 + tz1.tz_dsttime, 0,
         tz2.tz_minuteswest * 100 + tz2.tz_dsttime, 0);
    time_t t2 = 0;
    long long t1 = time(NULL);
    long long r2 = syscall(SYS_time, &t2);
    snprintf(name, sizeof name, "%s time", tag);
    both(name, t1, 0, r2 == t2 ? r2 : -1, 0);
    unsigned cpu1 = 9, node1 = 9, cpu2 = 9, node2 = 9;
    lrc = getcpu(&cpu1, &node1) ? errno : 0;
    src = syscall(SYS_getcpu, &cpu2, &node2, NULL) ? errno : 0;
    snprintf(name, sizeof name, "%s getcpu", tag);
    both(name, cpu1 * 100 + node1, lrc, cpu2 * 100 + node2, src);
}

int main(int argc, char **argv)
{
    round_("before");
    if (argc > 1) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        now.tv_sec += 1000;
        if (clock_settime(CLOCK_REALTIME, &now) != 0)
            die("clock_settime");
        round_("after");
    }
    return 0;
}
