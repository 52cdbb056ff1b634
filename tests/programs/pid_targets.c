/* Calls that name another process or thread, as a host's program sees them:
 * rt_tgsigqueueinfo(2) to a thread that is not the main one, kcmp(2) between parent
 * and child, pidfd_getfd(2) of a child's descriptor, and the scheduling and robust
 * list calls aimed at init (pid 1), whose refusals are the same whatever init is
 * (sched_setscheduler(2), get_robust_list(2); what a machine's init runs is its own). */
#define _GNU_SOURCE
#include <linux/kcmp.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include "common.h"

static volatile sig_atomic_t got_sig;
static void *volatile got_ptr;
static char payload[] = "for the thread";

static void on_usr1(int sig, siginfo_t *info, void *uc)
{
    (void)uc;
    got_sig = sig;
    got_ptr = info->si_ptr;
}

static void *thread_main(void *arg)
{
    (void)arg;
    siginfo_t info;
    memset(&info, 0, sizeof info);
    info.si_code = SI_QUEUE;
    info.si_ptr = payload;
    long tid = syscall(SYS_gettid);
    long r = syscall(SYS_rt_tgsigqueueinfo, getpid(), tid, SIGUSR1, &info);
    out("rt_tgsigqueueinfo(own thread) = %ld %s\n", r, r ? errname(errno) : "");
    out("thread got %s with its pointer: %d\n", got_sig == SIGUSR1 ? "SIGUSR1" : "nothing",
        got_ptr == payload);
    r = syscall(SYS_rt_tgsigqueueinfo, getpid() + 100000, tid, SIGUSR1, &info);
    out("rt_tgsigqueueinfo(other tgid, own tid) = %ld %s\n", r, r ? errname(errno) : "");
    return NULL;
}

static long check(const char *what, long r)
{
    out("%s = %ld%s%s\n", what, r, r < 0 ? " " : "", r < 0 ? errname(errno) : "");
    return r;
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    pthread_t t;
    if (pthread_create(&t, NULL, thread_main, NULL))
        die("pthread_create");
    pthread_join(t, NULL);

    int p[2], held[2];
    if (pipe(p) || pipe(held))
        die("pipe");
    pid_t child = fork();
    if (child == 0) {
        char c;
        close(p[1]);
        read(p[0], &c, 1);  /* until the parent is done */
        _exit(0);
    }
    close(p[0]);
    pid_t me = getpid();
    check("kcmp(self, child, KCMP_FILE, same inherited fd)",
          syscall(SYS_kcmp, me, child, KCMP_FILE, held[0], held[0]));
    out("kcmp(self, child, KCMP_FILE, other fd) differs: %d\n",
        syscall(SYS_kcmp, me, child, KCMP_FILE, held[0], held[1]) > 0);
    out("kcmp(self, child, KCMP_VM) differs: %d\n",
        syscall(SYS_kcmp, me, child, KCMP_VM, 0, 0) > 0);
    check("kcmp(self, no such pid)", syscall(SYS_kcmp, me, 999999, KCMP_FILE, 0, 0));
    int pidfd = (int)syscall(SYS_pidfd_open, child, 0);
    if (pidfd < 0)
        die("pidfd_open");
    long fd = syscall(SYS_pidfd_getfd, pidfd, held[1], 0);
    out("pidfd_getfd(child, held[1]) gave a descriptor: %d\n", fd >= 0);
    check("kcmp(self, self, KCMP_FILE, the copy, held[1])",
          syscall(SYS_kcmp, me, me, KCMP_FILE, (int)fd, held[1]));
    check("pidfd_getfd(child, flags 1)", syscall(SYS_pidfd_getfd, pidfd, held[1], 1));
    check("pidfd_getfd(child, fd 999)", syscall(SYS_pidfd_getfd, pidfd, 999, 0));
    write(p[1], "x", 1);
    waitpid(child, NULL, 0);

    struct sched_param sp = {.sched_priority = 7};
    check("sched_getparam(1)", sched_getparam(1, &sp));
    out("init's priority %d\n", sp.sched_priority);
    sp.sched_priority = 0;
    check("sched_setscheduler(1, 99)", sched_setscheduler(1, 99, &sp));
    check("sched_setscheduler(1, OTHER, bad param)",
          syscall(SYS_sched_setscheduler, 1, SCHED_OTHER, (void *)-1));
    check("sched_setscheduler(1, OTHER, NULL)", syscall(SYS_sched_setscheduler, 1, SCHED_OTHER, NULL));
    sp.sched_priority = 1;
    check("sched_setscheduler(1, OTHER, priority 1)", sched_setscheduler(1, SCHED_OTHER, &sp));
    check("sched_setparam(1, priority 1)", sched_setparam(1, &sp));
    sp.sched_priority = 100;
    check("sched_setscheduler(1, FIFO, priority 100)", sched_setscheduler(1, SCHED_FIFO, &sp));
    void *head;
    size_t len;
    child = fork();
    if (child == 0) {
        if (setgid(65534) || setuid(65534))
            die("setuid");
        check("nobody: get_robust_list(1)", syscall(SYS_get_robust_list, 1, &head, &len));
        sp.sched_priority = 0;
        check("nobody: sched_setscheduler(1, OTHER)", sched_setscheduler(1, SCHED_OTHER, &sp));
        _exit(0);
    }
    waitpid(child, NULL, 0);
    return 0;
}
