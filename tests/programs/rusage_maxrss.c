/* rusage_maxrss: ru_maxrss as getrusage(2) defines it, the way LTP's getrusage03 probes it.
 *
 * Each line names a rule and says yes or no, so that the output is the same natively
 * and in a simulated host whatever the exact sizes:
 *   fork_self      a forked child's RUSAGE_SELF is its parent's (its memory is a copy)
 *   fork_children  a forked child starts with RUSAGE_CHILDREN 0
 *   wait4          wait4's rusage of a child that touched 64 MiB is about 64 MiB
 *   zombie         an exited child not yet reaped does not count (waitid WNOWAIT)
 *   reaped         once reaped it does: RUSAGE_CHILDREN is about 64 MiB
 *   grandchild     a child's reaped child counts for the grandparent (the largest of
 *                  the descendants' reaped into the waited child's figure): 96 MiB
 *   ignored        a child reaped by SIGCHLD ignored never counts
 *   exec           exec keeps the old program's high-water mark: a child touches
 *                  48 MiB, frees it, execs this program, which still reads >= 48 MiB
 * "About" is within 20 MiB, LTP's margin. The rules are checked in a forked child, as
 * LTP does: a process's own figure starts from the program its parent exec'd from (a
 * python test runner's), a forked child's from its own memory. Exit status 0; 100 when
 * a step failed. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

#define MIB 1024L
#define DELTA (20 * MIB)

static long maxrss(int who)
{
    struct rusage ru;
    if (getrusage(who, &ru) != 0)
        die("getrusage");
    return ru.ru_maxrss;
}

static const char *near(long kib, long want)
{
    return kib >= want - DELTA && kib <= want + DELTA ? "yes" : "no";
}

static void touch_mib(long mib)
{
    size_t size = (size_t)mib << 20;
    char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        die("mmap");
    memset(p, 1, size);
    munmap(p, size);
}

static pid_t child_touching(long mib)
{
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        touch_mib(mib);
        _exit(0);
    }
    return pid;
}

static int rules(const char *self_exe);

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "after-exec") == 0) {
        out("exec %s\n", maxrss(RUSAGE_SELF) >= atol(argv[2]) ? "yes" : "no");
        return 0;
    }
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0)
        _exit(rules(argv[0]));
    int st;
    if (waitpid(pid, &st, 0) != pid)
        die("waitpid");
    return WIFEXITED(st) ? WEXITSTATUS(st) : 100;
}

static int rules(const char *self_exe)
{
    int pfd[2];
    if (pipe(pfd) != 0)
        die("pipe");
    long self = maxrss(RUSAGE_SELF);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        long got[2] = {maxrss(RUSAGE_SELF), maxrss(RUSAGE_CHILDREN)};
        if (write(pfd[1], got, sizeof got) != sizeof got)
            _exit(101);
        _exit(0);
    }
    long got[2];
    if (read(pfd[0], got, sizeof got) != sizeof got || waitpid(pid, NULL, 0) != pid)
        die("child");
    out("fork_self %s\n", near(got[0], self));
    out("fork_children %s\n", got[1] == 0 ? "yes" : "no");

    struct rusage ru;
    pid = child_touching(64);
    if (wait4(pid, NULL, 0, &ru) != pid)
        die("wait4");
    out("wait4 %s\n", near(ru.ru_maxrss, 64 * MIB));

    long before = maxrss(RUSAGE_CHILDREN);
    pid = child_touching(80);
    siginfo_t si;
    if (waitid(P_PID, pid, &si, WEXITED | WNOWAIT) != 0)
        die("waitid");
    out("zombie %s\n", maxrss(RUSAGE_CHILDREN) == before ? "yes" : "no");
    if (waitpid(pid, NULL, 0) != pid)
        die("waitpid");
    out("reaped %s\n", near(maxrss(RUSAGE_CHILDREN), 80 * MIB));

    pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        pid_t grandchild = child_touching(96);
        _exit(waitpid(grandchild, NULL, 0) == grandchild ? 0 : 1);
    }
    if (waitpid(pid, NULL, 0) != pid)
        die("waitpid");
    out("grandchild %s\n", near(maxrss(RUSAGE_CHILDREN), 96 * MIB));

    before = maxrss(RUSAGE_CHILDREN);
    signal(SIGCHLD, SIG_IGN);
    pid = child_touching(128);
    if (waitpid(pid, NULL, 0) != -1 || errno != ECHILD)  /* blocks until it is gone */
        die("ignored");
    signal(SIGCHLD, SIG_DFL);
    out("ignored %s\n", maxrss(RUSAGE_CHILDREN) == before ? "yes" : "no");

    pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        touch_mib(48);
        char arg[32];
        snprintf(arg, sizeof arg, "%ld", 48 * MIB);
        execl("/proc/self/exe", self_exe, "after-exec", arg, (char *)NULL);
        die("execl");
    }
    if (waitpid(pid, NULL, 0) != pid)
        die("waitpid");
    return 0;
}
