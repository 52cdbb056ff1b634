/* exec_cost: starting a program takes time and CPU, natively and in a host.
 *
 * The parent reads CLOCK_MONOTONIC, forks, and the child execs this program again,
 * which reads the clock and its CPU-time clock first thing in main. On a machine the
 * fork, the exec and the dynamic loader take hundreds of microseconds; a host charges
 * a fixed start-up (README "The CPU model") and the program starts that much later.
 *   start_late  the exec'd program's main runs at least 200 us after the fork
 *   start_cpu   and its process has used at least 200 us of CPU time by then
 * Exit status 0; 100 when a step failed. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "common.h"

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "started") == 0) {
        long long at = clock_ns(CLOCK_MONOTONIC), cpu = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
        out("start_late %s\n", at - atoll(argv[2]) >= 200000 ? "yes" : "no");
        out("start_cpu %s\n", cpu >= 200000 ? "yes" : "no");
        return 0;
    }
    char arg[32];
    snprintf(arg, sizeof arg, "%lld", clock_ns(CLOCK_MONOTONIC));
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        execl("/proc/self/exe", argv[0], "started", arg, (char *)NULL);
        die("execl");
    }
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        die("child");
    return 0;
}
