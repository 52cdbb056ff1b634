/* clock_set_futex: setting CLOCK_REALTIME moves the futex waits whose absolute
 * timeout is a CLOCK_REALTIME time (futex(2) FUTEX_WAIT_BITSET|FUTEX_CLOCK_REALTIME,
 * and the glibc calls built on it: pthread_cond_timedwait(3) with the default
 * clock, sem_timedwait(3), pthread_mutex_timedlock(3)) and a CLOCK_REALTIME
 * futex_waitv(2), not those on CLOCK_MONOTONIC.
 * For a simulated host only: natively it would set the machine's clock.
 *
 * Phase 1: a thread for each kind waits for an absolute time 5 s ahead of its clock;
 * 2 s later the main thread sets CLOCK_REALTIME by DELTA seconds (the argument).
 * Each prints its result and how long it waited by CLOCK_MONOTONIC: 5 s, but for the
 * realtime ones 5 - DELTA s, or 2 s (they time out at the set) when DELTA >= 3.
 * Phase 2: two threads wait on one futex word, "first" until a realtime time 100 s
 * ahead, then "second" without a timeout; the clock is set 10 s ahead (not past
 * "first"), 1 s later one FUTEX_WAKE of one waiter, 1 s later another: a set of the
 * clock keeps a waiter where it was queued, so "first" is woken after 2 s and
 * "second" after 3 s.
 * Exit status 0. */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include "common.h"

#ifndef FUTEX_32   /* headers older than futex_waitv(2) (Linux 5.16) */
#define FUTEX_32 2
struct futex_waitv { unsigned long long val, uaddr; unsigned flags, __reserved; };
#endif

static unsigned word, queue_word;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER, held = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond_realtime = PTHREAD_COND_INITIALIZER, cond_monotonic;
static sem_t sem;
static int ready[2];

static struct timespec ahead(clockid_t clock, int seconds)
{
    struct timespec t;
    clock_gettime(clock, &t);
    t.tv_sec += seconds;
    return t;
}

static long long seconds_since(const struct timespec *start)
{
    struct timespec end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    return ((end.tv_sec - start->tv_sec) * 1000000000LL + end.tv_nsec - start->tv_nsec
            + 500000000) / 1000000000;
}

static int futex_wait_until(unsigned *addr, int clock_flag, const struct timespec *until)
{
    long r = syscall(SYS_futex, addr, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG | clock_flag,
                     *addr, until, NULL, FUTEX_BITSET_MATCH_ANY);
    return r == 0 ? 0 : errno;
}

static void *waiter(void *arg)
{
    const char *name = arg;
    struct timespec start, until;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int r;
    int realtime = strstr(name, "realtime") != NULL;
    until = ahead(realtime ? CLOCK_REALTIME : CLOCK_MONOTONIC, 5);
    if (!strncmp(name, "waitv", 5)) {
        struct futex_waitv one = {.val = word, .uaddr = (unsigned long)&word,
                                  .flags = FUTEX_32 | FUTEX_PRIVATE_FLAG};
        pass_byte(ready[1]);
        r = syscall(SYS_futex_waitv, &one, 1, 0, &until, CLOCK_REALTIME) < 0 ? errno : 0;
    } else if (!strncmp(name, "futex", 5)) {
        pass_byte(ready[1]);
        r = futex_wait_until(&word, realtime ? FUTEX_CLOCK_REALTIME : 0, &until);
    } else if (!strncmp(name, "cond", 4)) {
        pthread_mutex_lock(&lock);
        pass_byte(ready[1]);
        r = pthread_cond_timedwait(realtime ? &cond_realtime : &cond_monotonic, &lock, &until);
        pthread_mutex_unlock(&lock);
    } else if (!strncmp(name, "sem", 3)) {
        pass_byte(ready[1]);
        r = realtime ? sem_timedwait(&sem, &until) : sem_clockwait(&sem, CLOCK_MONOTONIC, &until);
        r = r == 0 ? 0 : errno;
    } else {
        pass_byte(ready[1]);
        r = pthread_mutex_timedlock(&held, &until);
    }
    out("%s: %s after %lld s\n", name, r ? errname(r) : "0", seconds_since(&start));
    return NULL;
}

static void *queued(void *arg)
{
    struct timespec start, until = ahead(CLOCK_REALTIME, 100);
    clock_gettime(CLOCK_MONOTONIC, &start);
    pass_byte(ready[1]);
    int first = !strcmp(arg, "first");
    int r = futex_wait_until(&queue_word, FUTEX_CLOCK_REALTIME, first ? &until : NULL);
    out("queued %s: %s after %lld s\n", (const char *)arg, r ? errname(r) : "0",
        seconds_since(&start));
    return NULL;
}

static void set_clock(long delta)
{
    struct timespec now = ahead(CLOCK_REALTIME, 0);
    now.tv_sec += delta;
    if (clock_settime(CLOCK_REALTIME, &now) != 0)
        die("clock_settime");
}

int main(int argc, char **argv)
{
    long delta = argc > 1 ? atol(argv[1]) : -2;
    static const char *kinds[] = {"futex realtime", "futex monotonic", "cond realtime",
                                  "cond monotonic", "sem realtime", "sem monotonic",
                                  "mutex realtime", "waitv realtime"};
    enum { KINDS = sizeof kinds / sizeof kinds[0] };
    pthread_t threads[KINDS];
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&cond_monotonic, &attr);
    sem_init(&sem, 0, 0);
    pthread_mutex_lock(&held);
    if (pipe(ready) != 0)
        die("pipe");
    for (int i = 0; i < KINDS; i++) {
        pthread_create(&threads[i], NULL, waiter, (void *)kinds[i]);
        take_byte(ready[0]);
    }
    struct timespec two = {2, 0}, one = {1, 0};
    nanosleep(&two, NULL);
    set_clock(delta);
    for (int i = 0; i < KINDS; i++)
        pthread_join(threads[i], NULL);

    pthread_t first, second;
    pthread_create(&first, NULL, queued, "first");
    take_byte(ready[0]);
    pthread_create(&second, NULL, queued, "second");
    take_byte(ready[0]);
    nanosleep(&one, NULL);   /* both wait in the kernel by then */
    set_clock(10);
    nanosleep(&one, NULL);   /* "first" has seen the set by then */
    syscall(SYS_futex, &queue_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    nanosleep(&one, NULL);
    syscall(SYS_futex, &queue_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    pthread_join(first, NULL);
    pthread_join(second, NULL);
    return 0;
}
