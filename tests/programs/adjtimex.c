/* adjtimex(2) and clock_adjtime(2).
 *
 * "errors": what is safe natively: reading the clock's state, and every request the
 * kernel refuses before changing anything (bad clocks and pointers, out-of-range
 * values, an unprivileged caller). Nothing here can change the machine's clock.
 *
 * "leap": leap seconds armed with STA_INS and STA_DEL on a clock set to just before
 * UTC midnight. Run it only in a simulated host: natively it would set the machine's
 * clock and insert a real leap second.
 *
 * "slew": adjtime(3) and the PLL's ADJ_OFFSET slew the clock, ADJ_FREQUENCY changes its
 * rate; CLOCK_MONOTONIC_RAW shows what the disciplined clocks gained, the same through
 * the vDSO as through the system call. "tai": ADJ_TAI moves CLOCK_TAI and what waits
 * for an absolute TAI time. Both only in a simulated host: they change the clock. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <time.h>
#include "common.h"

#define NSEC 1000000000LL

static const char *res(long r)
{
    static char buf[16];
    if (r >= 0) {
        snprintf(buf, sizeof buf, "ok");
        return buf;
    }
    return strerrorname_np(errno);
}

static const char *adj(clockid_t clock, unsigned modes, struct timex *tx)
{
    tx->modes = modes;
    return res(clock == (clockid_t)-100 ? adjtimex(tx) : clock_adjtime(clock, tx));
}

static void errors(void)
{
    struct timex tx = {0};
    struct timespec ts;
    int state = adjtimex(&tx);
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t told = tx.time.tv_sec * NSEC
                   + tx.time.tv_usec * (tx.status & STA_NANO ? 1 : 1000);
    int64_t real = ts.tv_sec * NSEC + ts.tv_nsec;
    out("read: state valid %d, precision %ld, tolerance %ld, time is the realtime %d\n",
        state >= TIME_OK && state <= TIME_ERROR, tx.precision, tx.tolerance,
        real >= told && real - told < 10 * NSEC);
    out("state says unsynchronized: %d\n",
        (state == TIME_ERROR) == !!(tx.status & (STA_UNSYNC | STA_CLOCKERR)));
    memset(&tx, 0, sizeof tx);
    out("clock_adjtime(REALTIME) read: %s\n", adj(CLOCK_REALTIME, 0, &tx));
    out("clock_adjtime(MONOTONIC): %s\n", adj(CLOCK_MONOTONIC, 0, &tx));
    out("clock_adjtime(BOOTTIME): %s\n", adj(CLOCK_BOOTTIME, 0, &tx));
    out("clock_adjtime(TAI): %s\n", adj(CLOCK_TAI, 0, &tx));
    out("clock_adjtime(PROCESS_CPUTIME_ID): %s\n", adj(CLOCK_PROCESS_CPUTIME_ID, 0, &tx));
    out("clock_adjtime(10): %s\n", adj(10, 0, &tx));
    out("clock_adjtime(12): %s\n", adj(12, 0, &tx));
    /* the struct is read before the clock is looked at */
    out("clock_adjtime(MONOTONIC, NULL): %s\n",
        res(syscall(SYS_clock_adjtime, CLOCK_MONOTONIC, NULL)));
    out("clock_adjtime(10, NULL): %s\n", res(syscall(SYS_clock_adjtime, 10, NULL)));
    out("clock_adjtime(REALTIME, NULL): %s\n",
        res(syscall(SYS_clock_adjtime, CLOCK_REALTIME, NULL)));
    out("adjtimex(NULL): %s\n", res(syscall(SYS_adjtimex, NULL)));
    void *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    out("adjtimex(read-only): %s\n", res(adjtimex(ro)));
    memset(&tx, 0, sizeof tx);
    tx.tick = 5000;
    out("ADJ_TICK 5000: %s\n", adj(-100, ADJ_TICK, &tx));
    tx.tick = 12000;
    out("ADJ_TICK 12000: %s\n", adj(CLOCK_REALTIME, ADJ_TICK, &tx));
    memset(&tx, 0, sizeof tx);
    tx.time.tv_usec = -1;
    out("ADJ_SETOFFSET usec -1: %s\n", adj(-100, ADJ_SETOFFSET, &tx));
    tx.time.tv_usec = 1000000;
    out("ADJ_SETOFFSET usec 1000000: %s\n", adj(-100, ADJ_SETOFFSET, &tx));
    tx.time.tv_usec = NSEC;
    out("ADJ_SETOFFSET|ADJ_NANO nsec 1e9: %s\n", adj(-100, ADJ_SETOFFSET | ADJ_NANO, &tx));
    memset(&tx, 0, sizeof tx);
    tx.freq = INT64_MAX;
    out("ADJ_FREQUENCY LLONG_MAX: %s\n", adj(-100, ADJ_FREQUENCY, &tx));
    memset(&tx, 0, sizeof tx);
    out("ADJ_ADJTIME alone: %s, tai left %d\n", adj(-100, 0x8000, &tx), tx.tai);
    out("ADJ_ADJTIME|ADJ_OFFSET_READONLY: %s\n", adj(-100, 0xa000, &tx));

    /* unprivileged: only reading */
    pid_t pid = fork();
    if (pid == 0) {
        if (setresuid(65534, 65534, 65534))
            die("setresuid");
        memset(&tx, 0, sizeof tx);
        out("nobody: read %s\n", adj(-100, 0, &tx));
        out("nobody: ADJ_OFFSET_SS_READ %s\n", adj(-100, ADJ_OFFSET_SS_READ, &tx));
        out("nobody: ADJ_STATUS %s\n", adj(-100, ADJ_STATUS, &tx));
        out("nobody: ADJ_OFFSET_SINGLESHOT %s\n", adj(-100, ADJ_OFFSET_SINGLESHOT, &tx));
        out("nobody: ADJ_SETOFFSET %s\n", adj(CLOCK_REALTIME, ADJ_SETOFFSET, &tx));
        tx.constant = 37;
        out("nobody: ADJ_TAI %s\n", adj(-100, ADJ_TAI, &tx));
        struct timeval delta = {0, 1000};
        out("nobody: adjtime(3) %s\n", res(adjtime(&delta, NULL)));
        tx.tick = 5000;
        out("nobody: bad ADJ_TICK %s\n", adj(-100, ADJ_TICK, &tx));
        _exit(0);
    }
    waitpid(pid, NULL, 0);
}

/* ------------------------------------------------------------ leap seconds */

static const char *const states[] = {"TIME_OK", "TIME_INS", "TIME_DEL", "TIME_OOP",
                                     "TIME_WAIT", "TIME_ERROR"};

static void show(const char *when)
{
    struct timex tx = {0};
    int state = adjtimex(&tx);
    struct timespec tai, real;
    clock_gettime(CLOCK_TAI, &tai);
    clock_gettime(CLOCK_REALTIME, &real);
    struct tm tm;
    gmtime_r(&real.tv_sec, &tm);
    out("%-22s %02d:%02d:%02d.%03ld %-9s tai %d (CLOCK_TAI %+lld s) status %#x\n", when,
        tm.tm_hour, tm.tm_min, tm.tm_sec, real.tv_nsec / 1000000,
        state >= 0 ? states[state] : "error", tx.tai,
        (long long)(tai.tv_sec - real.tv_sec), tx.status);
}

static void set_time(time_t sec, long nsec)
{
    struct timespec ts = {sec, nsec};
    if (clock_settime(CLOCK_REALTIME, &ts))
        die("clock_settime");
}

static void set_status(int status)
{
    struct timex tx = {.modes = ADJ_STATUS, .status = status};
    if (adjtimex(&tx) < 0)
        die("adjtimex");
}

static void nap(long ms)
{
    struct timespec ts = {ms / 1000, ms % 1000 * 1000000};
    clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
}

static int64_t mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * NSEC + ts.tv_nsec;
}

static void leap(void)
{
    time_t midnight = 946771200;   /* 2000-01-02 00:00:00 UTC */
    show("at start");
    set_time(midnight - 2, 500000000);
    set_status(STA_PLL);
    set_status(0);
    show("PLL reset");
    set_status(STA_INS);
    show("STA_INS armed");
    for (int i = 0; i < 4; i++) {
        nap(1000);
        show("one second on");
    }
    set_status(0);
    show("STA_INS cleared");
    nap(1000);
    show("one second on");

    /* an absolute realtime sleep to the midnight after a leap second ends then,
     * not at the first 00:00:00 (leapsec01's hrtimer early expiration) */
    midnight += 86400;
    set_time(midnight - 2, 0);
    set_status(STA_INS);
    int64_t before = mono();
    struct timespec until = {midnight, 0};
    int r = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &until, NULL);
    out("sleep to midnight across the leap: %d after %lld ms\n", r,
        (long long)((mono() - before) / 1000000));
    show("woken");
    set_status(0);
    nap(1000);
    show("cleared, one second on");

    /* CLOCK_TAI does not repeat a second: an absolute sleep 3 s on lasts 3 s, across
     * a leap second, as does a timer */
    midnight += 86400;
    set_time(midnight - 2, 0);
    set_status(STA_INS);
    struct timespec tai;
    clock_gettime(CLOCK_TAI, &tai);
    tai.tv_sec += 3;
    timer_t timer;
    struct sigevent sev = {.sigev_notify = SIGEV_NONE};
    struct itimerspec its = {.it_value = {tai.tv_sec + 1, 0}};
    if (timer_create(CLOCK_TAI, &sev, &timer) || timer_settime(timer, TIMER_ABSTIME, &its, NULL))
        die("timer");
    before = mono();
    r = clock_nanosleep(CLOCK_TAI, TIMER_ABSTIME, &tai, NULL);
    int64_t slept = mono() - before;
    timer_gettime(timer, &its);
    out("TAI sleep 3 s across the leap: %d after %lld ms, TAI timer 4 s on due at %lld ms\n",
        r, (long long)(slept / 1000000),
        (long long)((slept + its.it_value.tv_sec * NSEC + its.it_value.tv_nsec) / 1000000));
    show("woken");
    set_status(0);
    nap(1000);

    /* ADJ_SETOFFSET steps the realtime clock; ADJ_NANO shows nanoseconds */
    struct timex tx = {.modes = ADJ_SETOFFSET | ADJ_NANO, .time = {-3600, 250000000}};
    out("ADJ_SETOFFSET -3599.75 s: %s\n", res(adjtimex(&tx)));
    show("stepped");
    tx.modes = ADJ_MICRO;
    adjtimex(&tx);

    /* a deleted second: 23:59:59 never shows */
    midnight += 86400;
    set_time(midnight - 3, 500000000);
    set_status(STA_DEL);
    show("STA_DEL armed");
    for (int i = 0; i < 3; i++) {
        nap(1000);
        show("one second on");
    }
    set_status(0);
    nap(1000);
    show("cleared, one second on");
}

/* ------------------------------------------------------------ slewing */

/* A clock through the vDSO (glibc's clock_gettime) or the system call itself. */
static int64_t read_ns(clockid_t clock, int trapped)
{
    struct timespec ts;
    if (trapped ? syscall(SYS_clock_gettime, clock, &ts) : clock_gettime(clock, &ts))
        die("clock_gettime");
    return ts.tv_sec * NSEC + ts.tv_nsec;
}

/* How far CLOCK_REALTIME has gained on CLOCK_MONOTONIC_RAW since `since`, in us,
 * through the vDSO and the system call ("same" when they agree). */
static void gained(const char *when, int64_t since)
{
    int64_t vdso = read_ns(CLOCK_REALTIME, 0) - read_ns(CLOCK_MONOTONIC_RAW, 0);
    int64_t sys = read_ns(CLOCK_REALTIME, 1) - read_ns(CLOCK_MONOTONIC_RAW, 1);
    struct timeval left;
    if (adjtime(NULL, &left))
        die("adjtime read");
    struct timex tx = {0};
    adjtimex(&tx);
    out("%-28s realtime - raw %+lld us (%s), adjtime left %ld us, offset %ld us, "
        "freq %ld\n", when, (long long)((vdso - since) / 1000),
        vdso / 1000 == sys / 1000 ? "vDSO = syscall" : "vDSO != syscall",
        (long)(left.tv_sec * 1000000 + left.tv_usec), tx.offset, tx.freq);
}

static void slew(void)
{
    int64_t base = read_ns(CLOCK_REALTIME, 0) - read_ns(CLOCK_MONOTONIC_RAW, 0);
    int64_t mono0 = mono(), real0 = read_ns(CLOCK_REALTIME, 0);
    gained("at start", base);
    struct timeval delta = {1, 0};
    if (adjtime(&delta, NULL))
        die("adjtime");
    gained("adjtime +1 s", base);
    nap(10000);
    gained("10 s on", base);
    out("  a 10 s sleep took %lld ms of CLOCK_MONOTONIC and of CLOCK_REALTIME %lld ms\n",
        (long long)((mono() - mono0) / 1000000),
        (long long)((read_ns(CLOCK_REALTIME, 0) - real0) / 1000000));
    delta.tv_sec = -1;
    delta.tv_usec = 999000;   /* -1 ms */
    if (adjtime(&delta, NULL))
        die("adjtime");
    nap(1500);
    gained("adjtime -1 ms, 1.5 s on", base);
    nap(1000);
    gained("1 s on", base);
    nap(1000);
    gained("1 s on", base);

    /* the phase-locked loop slews a part of its offset each second */
    struct timex tx = {.modes = ADJ_STATUS, .status = STA_PLL};
    adjtimex(&tx);
    tx.modes = ADJ_OFFSET | ADJ_TIMECONST;
    tx.offset = 2000;
    tx.constant = 0;
    out("ADJ_OFFSET 2 ms: %s\n", res(adjtimex(&tx)));
    gained("PLL offset 2 ms", base);
    for (int i = 0; i < 3; i++) {
        nap(1000);
        gained("1 s on", base);
    }
    tx.modes = ADJ_STATUS;
    tx.status = 0;
    adjtimex(&tx);

    /* +100 ppm at once: 100 us more each second */
    tx.modes = ADJ_FREQUENCY;
    tx.freq = 100 << 16;
    adjtimex(&tx);
    gained("ADJ_FREQUENCY +100 ppm", base);
    nap(10000);
    gained("10 s on", base);
    tx.freq = 0;
    adjtimex(&tx);

    /* a set of the clock drops what is left to slew */
    delta.tv_sec = 2;
    delta.tv_usec = 0;
    adjtime(&delta, NULL);
    nap(2000);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (clock_settime(CLOCK_REALTIME, &now))
        die("clock_settime");
    base = read_ns(CLOCK_REALTIME, 0) - read_ns(CLOCK_MONOTONIC_RAW, 0);
    gained("adjtime +2 s, 2 s on, set", base);
    nap(1000);
    gained("1 s on", base);
}

/* ------------------------------------------------------------ the TAI offset */

static void set_tai(int tai)
{
    struct timex tx = {.modes = ADJ_TAI, .constant = tai};
    if (adjtimex(&tx) < 0)
        die("ADJ_TAI");
}

static int64_t left_ms(timer_t timer)
{
    struct itimerspec its;
    timer_gettime(timer, &its);
    return (its.it_value.tv_sec * NSEC + its.it_value.tv_nsec) / 1000000;
}

static void tai(void)
{
    set_tai(10);
    out("ADJ_TAI 10: CLOCK_TAI - CLOCK_REALTIME %lld s (vDSO), %lld s (syscall)\n",
        (long long)((read_ns(CLOCK_TAI, 0) - read_ns(CLOCK_REALTIME, 0)) / NSEC),
        (long long)((read_ns(CLOCK_TAI, 1) - read_ns(CLOCK_REALTIME, 1)) / NSEC));
    struct timespec until;
    clock_gettime(CLOCK_TAI, &until);
    until.tv_sec += 10;
    timer_t on_tai, on_real, relative;
    struct sigevent sev = {.sigev_notify = SIGEV_NONE};
    struct itimerspec its = {.it_value = until};
    if (timer_create(CLOCK_TAI, &sev, &on_tai) || timer_settime(on_tai, TIMER_ABSTIME, &its, NULL))
        die("TAI timer");
    clock_gettime(CLOCK_REALTIME, &its.it_value);
    its.it_value.tv_sec += 10;
    if (timer_create(CLOCK_REALTIME, &sev, &on_real)
            || timer_settime(on_real, TIMER_ABSTIME, &its, NULL))
        die("realtime timer");
    its.it_value.tv_sec = 10;
    its.it_value.tv_nsec = 0;
    if (timer_create(CLOCK_TAI, &sev, &relative) || timer_settime(relative, 0, &its, NULL))
        die("relative timer");
    pid_t pids[2];
    for (int i = 0; i < 2; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            struct timespec ten = {10, 0};
            int64_t before = mono();
            int r = clock_nanosleep(CLOCK_TAI, i ? 0 : TIMER_ABSTIME, i ? &ten : &until, NULL);
            out("child: %s TAI sleep 10 s on: %d after %lld ms\n", i ? "relative" : "absolute",
                r, (long long)((mono() - before) / 1000000));
            _exit(0);
        }
    }
    nap(1000);
    set_tai(13);
    out("1 s on, ADJ_TAI 13: TAI timer due in %lld ms, realtime timer %lld ms, relative "
        "TAI timer %lld ms\n", (long long)left_ms(on_tai), (long long)left_ms(on_real),
        (long long)left_ms(relative));
    nap(1000);
    set_tai(12);
    out("1 s on, ADJ_TAI 12: TAI timer due in %lld ms, realtime timer %lld ms, relative "
        "TAI timer %lld ms\n", (long long)left_ms(on_tai), (long long)left_ms(on_real),
        (long long)left_ms(relative));
    waitpid(pids[0], NULL, 0);
    waitpid(pids[1], NULL, 0);
    struct timex tx = {.modes = ADJ_TAI, .constant = -1};
    adjtimex(&tx);
    out("ADJ_TAI -1 ignored: tai %d\n", tx.tai);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "errors") == 0)
        errors();
    else if (argc == 2 && strcmp(argv[1], "leap") == 0)
        leap();
    else if (argc == 2 && strcmp(argv[1], "slew") == 0)
        slew();
    else if (argc == 2 && strcmp(argv[1], "tai") == 0)
        tai();
    else
        die("usage: adjtimex errors|leap|slew|tai");
    return 0;
}
