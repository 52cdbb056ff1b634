/* SCHED_DEADLINE through sched_setattr(2): admitted for a task whose affinity spans
 * the machine, read back by sched_getattr(2), and left again for SCHED_OTHER; with
 * its affinity narrowed to one CPU first, the kernel refuses it (EPERM). */
#define _GNU_SOURCE
#include <sched.h>
#include <stdint.h>
#include <sys/syscall.h>
#include "common.h"

#ifndef SCHED_DEADLINE
#define SCHED_DEADLINE 6
#endif

/* sched_setattr(2)'s structure (glibc before 2.41 has no header for it) */
struct dl_attr {
    uint32_t size, sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime, sched_deadline, sched_period;
};
#define sched_attr dl_attr

static long setattr(struct sched_attr *a) { return syscall(SYS_sched_setattr, 0, a, 0); }

int main(void)
{
    struct sched_attr dl = {.size = sizeof dl, .sched_policy = SCHED_DEADLINE,
                            .sched_runtime = 10000000, .sched_deadline = 30000000,
                            .sched_period = 30000000};
    long r = setattr(&dl);
    out("sched_setattr(DEADLINE) = %ld %s\n", r, r ? errname(errno) : "");
    struct sched_attr got = {0};
    r = syscall(SYS_sched_getattr, 0, &got, sizeof got, 0);
    out("sched_getattr = %ld: policy %u runtime %llu deadline %llu period %llu\n", r,
        got.sched_policy, (unsigned long long)got.sched_runtime,
        (unsigned long long)got.sched_deadline, (unsigned long long)got.sched_period);
    struct sched_attr other = {.size = sizeof other, .sched_policy = SCHED_OTHER};
    r = setattr(&other);
    out("sched_setattr(OTHER) = %ld, policy now %d\n", r, sched_getscheduler(0));
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    if (sched_setaffinity(0, sizeof one, &one))
        die("sched_setaffinity");
    r = setattr(&dl);
    out("one CPU: sched_setattr(DEADLINE) = %ld %s\n", r, r ? errname(errno) : "");
    return 0;
}
