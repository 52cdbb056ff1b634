/* clone3_pidfd: clone3(2)'s argument checks and CLONE_PIDFD (clone(2)).
 * "args": an exit signal past the low byte, or past 64, fails with EINVAL; so does a
 * set exit signal with CLONE_PARENT; bytes set past struct clone_args fail with E2BIG,
 * checked before the exit signal.
 * Without an argument: a CLONE_PIDFD child of clone3 (exit signal SIGUSR2) and of clone (its
 * pidfd stored where parent_tid points): pidfd_send_signal with a siginfo whose
 * si_signo is another signal fails with EINVAL; with SIGUSR1 and a value it reaches
 * the child, which prints the value; the parent gets SIGUSR2 at the clone3 child's
 * end; waitid(P_PIDFD) reaps each. */
#define _GNU_SOURCE
#include <linux/sched.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include "common.h"

static volatile sig_atomic_t got, value, parent_got;

static void on_usr1(int sig, siginfo_t *info, void *uc)
{
    (void)uc;
    got = sig;
    value = info->si_value.sival_int;
}

static void on_usr2(int sig)
{
    parent_got = sig;
}

static long clone3_raw(struct clone_args *args, size_t size)
{
    return syscall(SYS_clone3, args, size);
}

static void child(int ready)
{
    struct sigaction sa = {.sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO};
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, &old);
    sigaction(SIGUSR1, &sa, NULL);
    pass_byte(ready);
    while (!got)
        sigsuspend(&old);
    out("child got %s value %d\n", signame(got), (int)value);
    _exit(0);
}

static void signal_and_reap(int pidfd, int ready_r, int data)
{
    take_byte(ready_r);
    siginfo_t info;
    memset(&info, 0, sizeof info);
    info.si_signo = SIGUSR2;
    info.si_code = SI_QUEUE;
    info.si_pid = getpid();
    info.si_uid = getuid();
    info.si_value.sival_int = data;
    long mismatch = syscall(SYS_pidfd_send_signal, pidfd, SIGUSR1, &info, 0);
    int mismatch_errno = errno;
    info.si_signo = SIGUSR1;
    long sent = syscall(SYS_pidfd_send_signal, pidfd, SIGUSR1, &info, 0);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    /* __WALL: a child whose exit signal is not SIGCHLD is waited for with it (wait(2)) */
    long r = waitid(P_PIDFD, pidfd, &si, WEXITED | __WALL);
    out("send with another si_signo %ld %s\n", mismatch,
        mismatch < 0 ? errname(mismatch_errno) : "");
    out("send %ld\n", sent);
    out("waitid %ld code %d status %d\n", r, si.si_code, si.si_status);
}

static int args_checks(void)
{
    struct {
        struct clone_args a;
        uint64_t extra;
    } big;
    struct clone_args a;
    uint64_t signals[] = {256, 65, SIGCHLD};
    uint64_t flags[] = {0, 0, CLONE_PARENT};
    for (int i = 0; i < 3; i++) {
        memset(&a, 0, sizeof a);
        a.exit_signal = signals[i];
        a.flags = flags[i];
        long r = clone3_raw(&a, sizeof a);
        if (r == 0)
            _exit(0);
        out("exit_signal %llu flags %#llx: %ld %s\n", (unsigned long long)signals[i],
            (unsigned long long)flags[i], r, r < 0 ? errname(errno) : "started");
    }
    memset(&big, 0, sizeof big);
    big.a.exit_signal = 256;  /* the size is checked first */
    big.extra = 1;
    long r = clone3_raw(&big.a, sizeof big);
    out("extra byte set, exit_signal 256: %ld %s\n", r, r < 0 ? errname(errno) : "started");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "args"))
        return args_checks();
    signal(SIGUSR2, on_usr2);
    int ready[2];
    if (pipe(ready) < 0)
        die("pipe");
    int pidfd = -1;
    struct clone_args a;
    memset(&a, 0, sizeof a);
    a.flags = CLONE_PIDFD;
    a.pidfd = (uint64_t)(uintptr_t)&pidfd;
    a.exit_signal = SIGUSR2;
    long pid = clone3_raw(&a, sizeof a);
    if (pid < 0)
        die("clone3");
    if (pid == 0)
        child(ready[1]);
    signal_and_reap(pidfd, ready[0], 777);
    out("parent got %s\n", parent_got ? signame(parent_got) : "nothing");
    close(pidfd);

    int pidfd2 = -1;
    pid = syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, &pidfd2, 0, 0);
    if (pid < 0)
        die("clone");
    if (pid == 0)
        child(ready[1]);
    signal_and_reap(pidfd2, ready[0], 42);
    return 0;
}
