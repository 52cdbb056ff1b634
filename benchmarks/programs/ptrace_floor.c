/* The floor of a seccomp + ptrace tracer: how fast a workload can run under a tracer
 * that does what simproc's does natively and nothing else. Not a workload; the "floor"
 * column of the benchmark table.
 *
 *     ptrace_floor NR,NR,... PROGRAM [ARGS...]     (the list may be "-": trap nothing)
 *
 * Like simproc it pins itself and its tracees to the CPU it runs on, installs a seccomp
 * filter in the child before execve that returns SECCOMP_RET_TRACE for the listed
 * x86_64 syscall numbers (ALLOW for the rest), and follows forks, vforks and clones.
 * Every stop is resumed at once with PTRACE_CONT, passing signals on: no registers are
 * read, no call is emulated, nothing is logged. The difference to simproc is the cost
 * of simulating; the difference to native, the cost of the stops themselves (and, with
 * nothing trapped, of the filter alone). Exits with the program's status. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_TRAPS 64

static int install_filter(const long *nrs, int n)
{
    struct sock_filter prog[MAX_TRAPS + 6];
    int len = 0;
    prog[len++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                               offsetof(struct seccomp_data, arch));
    /* another ABI: trace it, as simproc does */
    prog[len++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64,
                                               0, (unsigned char)(n + 2));
    prog[len++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                               offsetof(struct seccomp_data, nr));
    for (int i = 0; i < n; i++)
        prog[len++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
                                                   (unsigned)nrs[i], (unsigned char)(n - i), 0);
    prog[len++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    prog[len++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE);
    struct sock_fprog fprog = { .len = (unsigned short)len, .filter = prog };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: ptrace_floor NR,NR,...|- PROGRAM [ARGS...]\n");
        return 2;
    }
    long nrs[MAX_TRAPS];
    int n = 0;
    if (strcmp(argv[1], "-") != 0) {
        for (char *s = strtok(argv[1], ","); s && n < MAX_TRAPS; s = strtok(NULL, ","))
            nrs[n++] = atol(s);
    }
    int cpu = sched_getcpu();
    if (cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        sched_setaffinity(0, sizeof set, &set);  /* inherited by the tracee */
    }
    pid_t child = fork();
    if (child < 0) {
        perror("fork");
        return 1;
    }
    if (child == 0) {
        raise(SIGSTOP);  /* until the tracer has seized us */
        if (install_filter(nrs, n) != 0) {
            perror("ptrace_floor: seccomp filter");
            _exit(127);
        }
        execvp(argv[2], argv + 2);
        perror(argv[2]);
        _exit(127);
    }
    int status;
    if (waitpid(child, &status, WSTOPPED) != child) {
        perror("waitpid");
        return 1;
    }
    if (ptrace(PTRACE_SEIZE, child, 0,
               PTRACE_O_TRACESECCOMP | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
               PTRACE_O_TRACECLONE | PTRACE_O_EXITKILL) != 0) {
        perror("PTRACE_SEIZE");
        kill(child, SIGKILL);
        return 1;
    }
    kill(child, SIGCONT);
    int rc = 1;
    pid_t pid;
    while ((pid = waitpid(-1, &status, __WALL)) > 0) {
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
            if (pid == child)
                rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            continue;
        }
        int sig = WSTOPSIG(status);
        if (status >> 16)
            sig = 0;  /* seccomp, fork or (seized) initial/group stop: nothing to pass */
        else if (sig == SIGTRAP || sig == SIGSTOP || sig == SIGCONT)
            sig = 0;
        ptrace(PTRACE_CONT, pid, 0, sig);
    }
    return rc;
}
