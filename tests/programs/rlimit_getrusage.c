/* rlimit_getrusage: getrusage(2) and wait4's rusage, every field printed.
 *
 * A child makes 1000 getppid() calls and exits; the parent reaps it with wait4 and
 * prints the rusage wait4 returned, then getrusage(RUSAGE_SELF) and
 * getrusage(RUSAGE_CHILDREN), and RUSAGE_THREAD. In a simulated host every value is
 * deterministic (CPU times follow the CPU model: 1 us per simulated system call), so two
 * runs print the same bytes; natively the numbers vary. getrusage(99) fails with EINVAL.
 * Exit status 0; 100+ when a step could not run. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

static void show(const char *label, const struct rusage *ru)
{
    out("%s utime=%ld.%06ld stime=%ld.%06ld maxrss=%ld ixrss=%ld idrss=%ld isrss=%ld "
        "minflt=%ld majflt=%ld nswap=%ld inblock=%ld oublock=%ld msgsnd=%ld msgrcv=%ld "
        "nsignals=%ld nvcsw=%ld nivcsw=%ld\n",
        label, (long)ru->ru_utime.tv_sec, (long)ru->ru_utime.tv_usec,
        (long)ru->ru_stime.tv_sec, (long)ru->ru_stime.tv_usec, ru->ru_maxrss, ru->ru_ixrss,
        ru->ru_idrss, ru->ru_isrss, ru->ru_minflt, ru->ru_majflt, ru->ru_nswap,
        ru->ru_inblock, ru->ru_oublock, ru->ru_msgsnd, ru->ru_msgrcv, ru->ru_nsignals,
        ru->ru_nvcsw, ru->ru_nivcsw);
}

int main(void)
{
    pid_t c = fork();
    if (c < 0)
        return 100;
    if (c == 0) {
        for (int i = 0; i < 1000; i++)
            syscall(SYS_getppid);
        _exit(0);
    }
    struct rusage ru;
    int st;
    memset(&ru, 0, sizeof ru);
    if (wait4(c, &st, 0, &ru) != c)
        return 101;
    show("wait4", &ru);
    getrusage(RUSAGE_SELF, &ru);
    show("self", &ru);
    getrusage(RUSAGE_CHILDREN, &ru);
    show("children", &ru);
    getrusage(RUSAGE_THREAD, &ru);
    show("thread", &ru);
    int r = getrusage(99, &ru);
    out("getrusage_bad_who %d %s\n", r, r < 0 && errno == EINVAL ? "EINVAL" : "?");
    out("done\n");
    return 0;
}
