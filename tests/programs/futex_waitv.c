/* futex_waitv: futex_waitv(2) (Linux 5.16), waiting on several futex words at once.
 * Its argument checks (EINVAL: flags, no words, a word without its size flag, a
 * clock other than CLOCK_MONOTONIC and CLOCK_REALTIME, a misaligned word; EAGAIN: a
 * word that no longer holds its value; ETIMEDOUT: an absolute timeout passed or
 * reached); then a thread waits on three private words and on a shared word of a
 * MAP_SHARED page, and each wake, by FUTEX_WAKE on one word (retried until it finds
 * the waiter queued), returns that word's index. */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include "common.h"

#ifndef FUTEX_32
#define FUTEX_32 2
struct futex_waitv {
    uint64_t val;
    uint64_t uaddr;
    uint32_t flags;
    uint32_t __reserved;
};
#endif

static uint32_t words[3];
static uint32_t *shared_word;
static struct futex_waitv vec[4];

static long waitv(struct futex_waitv *v, unsigned n, unsigned flags, struct timespec *to,
                  int clock)
{
    return syscall(SYS_futex_waitv, v, n, flags, to, clock);
}

static void report(const char *what, long r)
{
    out("%s: %ld %s\n", what, r, r < 0 ? errname(errno) : "");
}

static void set(int i, uint32_t *word, uint32_t flags)
{
    memset(&vec[i], 0, sizeof vec[i]);
    vec[i].uaddr = (uintptr_t)word;
    vec[i].val = *word;
    vec[i].flags = flags;
}

static struct timespec in_ms(int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    return ts;
}

static void *waiter(void *arg)
{
    long n = (long)arg;
    struct timespec to = in_ms(60000);
    return (void *)waitv(vec, (unsigned)n, 0, &to, CLOCK_MONOTONIC);
}

static void wake_through(uint32_t *word, int private_op, long n)
{
    pthread_t t;
    pthread_create(&t, NULL, waiter, (void *)n);
    while (syscall(SYS_futex, word, FUTEX_WAKE | private_op, 1, NULL, NULL, 0) != 1)
        usleep(1000);
    void *r;
    pthread_join(t, &r);
    out("woken through word at %ld: futex_waitv %ld\n",
        (long)((uintptr_t)word == (uintptr_t)shared_word ? 3 : word - words), (long)r);
}

int main(void)
{
    shared_word = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared_word == MAP_FAILED)
        die("mmap");
    for (int i = 0; i < 3; i++)
        set(i, &words[i], FUTEX_32 | FUTEX_PRIVATE_FLAG);
    set(3, shared_word, FUTEX_32);
    struct timespec to = in_ms(0);
    report("flags 1", waitv(vec, 3, 1, NULL, 0));
    report("no words", waitv(vec, 0, 0, NULL, 0));
    report("129 words", waitv(vec, 129, 0, NULL, 0));
    report("clock BOOTTIME", waitv(vec, 3, 0, &to, CLOCK_BOOTTIME));
    vec[1].flags = FUTEX_PRIVATE_FLAG;
    report("a word without FUTEX_32", waitv(vec, 3, 0, NULL, 0));
    vec[1].flags = FUTEX_32 | FUTEX_PRIVATE_FLAG;
    vec[2].uaddr += 1;
    report("a misaligned word", waitv(vec, 3, 0, NULL, 0));
    vec[2].uaddr -= 1;
    vec[1].val = 7;
    report("a word changed", waitv(vec, 3, 0, NULL, 0));
    vec[1].val = 0;
    report("timeout passed", waitv(vec, 3, 0, &to, CLOCK_MONOTONIC));
    to = in_ms(20);
    report("20 ms timeout", waitv(vec, 4, 0, &to, CLOCK_MONOTONIC));
    wake_through(&words[2], FUTEX_PRIVATE_FLAG, 3);
    wake_through(&words[0], FUTEX_PRIVATE_FLAG, 3);
    wake_through(shared_word, 0, 4);
    return 0;
}
