/* boot_clocks [-v]: the monotonic and boottime clocks count from the boot, the
 * realtime clock is the date (clock_gettime(2), proc(5)). Prints relations only,
 * each "NAME: yes" on any machine (or "NAME: no"); -v adds the values read.
 *   uptime       CLOCK_BOOTTIME within 5 s of /proc/uptime's first figure
 *   monotonic    CLOCK_MONOTONIC (and _COARSE, _RAW) within 5 s of it or below
 *   boottime     CLOCK_BOOTTIME >= CLOCK_MONOTONIC
 *   realtime     CLOCK_REALTIME (and _COARSE) over 20 years above CLOCK_MONOTONIC
 *   btime        realtime - boottime within 2 s of /proc/stat's btime
 *   abs sleep    clock_nanosleep(CLOCK_BOOTTIME, TIMER_ABSTIME) until /proc/uptime
 *                + 0.2 s: between 0.1 s and 2 s of CLOCK_BOOTTIME, ended at its time
 *   timerfd      a CLOCK_MONOTONIC timerfd armed TFD_TIMER_ABSTIME 0.1 s ahead shows
 *                at most 0.1 s left and fires once, at its time, within 2 s
 *   timer        a CLOCK_BOOTTIME POSIX timer armed TIMER_ABSTIME at /proc/uptime + 1 s
 *                shows between 0.5 s and 1.5 s left (timer_gettime(2))
 *   cond         pthread_cond_timedwait on a CLOCK_MONOTONIC condattr 0.1 s ahead:
 *                ETIMEDOUT, at its time, within 2 s
 *   timens       a new time namespace (unshare(CLONE_NEWTIME), for children only)
 *                takes a CLOCK_MONOTONIC offset of minus half the time since the
 *                boot, and refuses one that would put the clock before the boot
 *                (ERANGE, time_namespaces(7)); "timens: skipped" without the
 *                privilege (EPERM)
 * Exit status 0. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/timerfd.h>
#include "common.h"

#define NSEC 1000000000LL
static int verbose;

static long long now(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts))
        die("clock_gettime");
    return ts.tv_sec * NSEC + ts.tv_nsec;
}

static struct timespec spec(long long ns)
{
    struct timespec ts = {ns / NSEC, ns % NSEC};
    return ts;
}

static long long uptime_ns(void)
{
    long long sec, cs;
    FILE *f = fopen("/proc/uptime", "r");
    if (!f || fscanf(f, "%lld.%lld", &sec, &cs) != 2)
        die("/proc/uptime");
    fclose(f);
    return sec * NSEC + cs * 10000000LL;
}

static long long btime_s(void)
{
    char line[256];
    long long value = -1;
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        die("/proc/stat");
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "btime %lld", &value) == 1)
            break;
    fclose(f);
    return value;
}

static void say(const char *name, int ok)
{
    out("%s: %s\n", name, ok ? "yes" : "no");
}

static void detail(const char *name, long long value)
{
    if (verbose)
        out("  %s %lld.%09lld\n", name, value / NSEC, value % NSEC);
}

static long long llabs_(long long v) { return v < 0 ? -v : v; }

static void read_clocks(void)
{
    long long up = uptime_ns(), mono = now(CLOCK_MONOTONIC), boot = now(CLOCK_BOOTTIME);
    long long coarse = now(CLOCK_MONOTONIC_COARSE), raw = now(CLOCK_MONOTONIC_RAW);
    long long real = now(CLOCK_REALTIME), real_coarse = now(CLOCK_REALTIME_COARSE);
    long long btime = btime_s();
    detail("uptime", up);
    detail("boottime", boot);
    detail("monotonic", mono);
    detail("monotonic_coarse", coarse);
    detail("monotonic_raw", raw);
    detail("realtime", real);
    detail("btime", btime * NSEC);
    say("uptime", llabs_(boot - up) < 5 * NSEC);
    /* below: a machine that slept counts the sleep in BOOTTIME only */
    say("monotonic", mono - up < 5 * NSEC && coarse - up < 5 * NSEC && raw - up < 5 * NSEC
        && mono >= 0 && coarse >= 0 && raw >= 0);
    say("boottime", boot >= mono);
    long long years20 = 20LL * 365 * 86400 * NSEC;
    say("realtime", real - mono > years20 && real_coarse - mono > years20);
    say("btime", llabs_((real - boot) / NSEC - btime) <= 2);
}

static void abs_sleep(void)
{
    long long start = now(CLOCK_BOOTTIME), target = uptime_ns() + 200000000LL;
    struct timespec ts = spec(target);
    int rc = clock_nanosleep(CLOCK_BOOTTIME, TIMER_ABSTIME, &ts, NULL);
    long long end = now(CLOCK_BOOTTIME);
    detail("abs sleep took", end - start);
    say("abs sleep", rc == 0 && end >= target && end - start >= NSEC / 10
        && end - start < 2 * NSEC);
}

static void timerfd_abs(void)
{
    int fd = timerfd_create(CLOCK_MONOTONIC, 0);
    if (fd < 0)
        die("timerfd_create");
    long long target = now(CLOCK_MONOTONIC) + NSEC / 10;
    struct itimerspec its = {{0, 0}, spec(target)}, left;
    if (timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL) || timerfd_gettime(fd, &left))
        die("timerfd_settime");
    long long remaining = left.it_value.tv_sec * NSEC + left.it_value.tv_nsec;
    uint64_t count = 0;
    if (read(fd, &count, sizeof count) != sizeof count)
        die("timerfd read");
    long long end = now(CLOCK_MONOTONIC);
    detail("timerfd left", remaining);
    detail("timerfd late by", end - target);
    say("timerfd", remaining > 0 && remaining <= NSEC / 10 && count == 1 && end >= target
        && end - target < 2 * NSEC);
    close(fd);
}

static void posix_timer_abs(void)
{
    struct sigevent ev = {0};
    ev.sigev_notify = SIGEV_NONE;
    timer_t timer;
    if (timer_create(CLOCK_BOOTTIME, &ev, &timer))
        die("timer_create");
    struct itimerspec its = {{0, 0}, spec(uptime_ns() + NSEC)}, left;
    if (timer_settime(timer, TIMER_ABSTIME, &its, NULL) || timer_gettime(timer, &left))
        die("timer_settime");
    long long remaining = left.it_value.tv_sec * NSEC + left.it_value.tv_nsec;
    detail("timer left", remaining);
    say("timer", remaining > NSEC / 2 && remaining < 3 * NSEC / 2);
    timer_delete(timer);
}

static void cond_wait(void)
{
    pthread_condattr_t attr;
    pthread_cond_t cond;
    pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&cond, &attr);
    long long target = now(CLOCK_MONOTONIC) + NSEC / 10;
    struct timespec ts = spec(target);
    pthread_mutex_lock(&mutex);
    int rc = pthread_cond_timedwait(&cond, &mutex, &ts);
    pthread_mutex_unlock(&mutex);
    long long end = now(CLOCK_MONOTONIC);
    detail("cond late by", end - target);
    say("cond", rc == ETIMEDOUT && end >= target && end - target < 2 * NSEC);
}

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static int write_offset(long long seconds)
{
    char text[64];
    int n = snprintf(text, sizeof text, "monotonic %lld 0\n", seconds);
    int fd = open("/proc/self/timens_offsets", O_WRONLY);
    if (fd < 0)
        die("open timens_offsets");
    int rc = write(fd, text, n) == n ? 0 : errno;
    close(fd);
    return rc;
}

static void timens_range(void)
{
    if (unshare(CLONE_NEWTIME)) {
        if (errno != EPERM)
            die("unshare");
        out("timens: skipped\n");
        return;
    }
    long long up = now(CLOCK_MONOTONIC) / NSEC;
    int before_boot = write_offset(-(up + 100)), half = write_offset(-(up / 2));
    if (verbose)
        out("  timens errors %d/%d\n", before_boot, half);
    say("timens", before_boot == ERANGE && half == 0);
}

int main(int argc, char **argv)
{
    verbose = argc > 1 && !strcmp(argv[1], "-v");
    read_clocks();
    abs_sleep();
    timerfd_abs();
    posix_timer_abs();
    cond_wait();
    timens_range();
    return 0;
}
