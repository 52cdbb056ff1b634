/* CPU affinity as a program sees it (sched_setaffinity(2), getcpu(2)): the mask it set
 * is the mask it reads, getcpu names a CPU of it (through libc, i.e. the vDSO, and the
 * raw call), a fork's child inherits it, a mask of no online CPU is EINVAL, and a bad
 * mask pointer EFAULT. Prints facts that hold on any machine with at least one CPU. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int highest(const cpu_set_t *set)
{
    int last = -1;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, set))
            last = c;
    return last;
}

static const char *err(int e)
{
    return e == EINVAL ? "EINVAL" : e == EFAULT ? "EFAULT" : e == ESRCH ? "ESRCH" : "other";
}

int main(void)
{
    cpu_set_t all, one, got;
    if (sched_getaffinity(0, sizeof all, &all) != 0)
        return 1;
    int top = highest(&all);
    printf("start has cpus: %s\n", CPU_COUNT(&all) >= 1 ? "yes" : "no");
    CPU_ZERO(&one);
    CPU_SET(top, &one);
    printf("set highest %d\n", sched_setaffinity(0, sizeof one, &one));
    CPU_ZERO(&got);
    sched_getaffinity(0, sizeof got, &got);
    printf("reads what it set: %s\n", CPU_EQUAL(&got, &one) ? "yes" : "no");
    unsigned cpu = 99, node = 99;
    getcpu(&cpu, &node);
    printf("libc getcpu on it: %s\n", (int)cpu == top ? "yes" : "no");
    cpu = 99;
    syscall(SYS_getcpu, &cpu, &node, NULL);
    printf("raw getcpu on it: %s\n", (int)cpu == top ? "yes" : "no");
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        CPU_ZERO(&got);
        sched_getaffinity(0, sizeof got, &got);
        printf("child inherits: %s\n", CPU_EQUAL(&got, &one) ? "yes" : "no");
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    cpu_set_t none;
    CPU_ZERO(&none);
    CPU_SET(CPU_SETSIZE - 1, &none);  /* no machine has CPU 1023 online */
    errno = 0;
    int r = sched_setaffinity(0, sizeof none, &none);
    printf("offline only %d %s\n", r, r ? err(errno) : "");
    errno = 0;
    r = sched_setaffinity(0, sizeof one, (cpu_set_t *)8);
    printf("bad pointer %d %s\n", r, r ? err(errno) : "");
    errno = 0;
    r = sched_setaffinity(2147483647, sizeof one, &one);
    printf("no such task %d %s\n", r, r ? err(errno) : "");
    printf("restore %d\n", sched_setaffinity(0, sizeof all, &all));
    CPU_ZERO(&got);
    sched_getaffinity(0, sizeof got, &got);
    printf("reads all again: %s\n", CPU_EQUAL(&got, &all) ? "yes" : "no");
    return 0;
}
