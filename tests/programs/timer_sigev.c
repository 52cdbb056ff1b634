/* timer_create(2)'s notification kinds, called through syscall(2) as the kernel sees
 * them: SIGEV_THREAD reaches the kernel only from a program that makes the call
 * itself (the C library turns it into a signal to a helper thread), and the kernel
 * then signals the process as for SIGEV_SIGNAL; SIGEV_THREAD_ID names a thread of
 * the caller's process (the main thread here), any other tid is EINVAL; an unknown
 * notify value or signal number is EINVAL. timer_settime(2) without a new value
 * is EINVAL. "glibc": the C library's SIGEV_THREAD
 * timer, whose function runs in another thread. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include "common.h"

static volatile sig_atomic_t got_sig, got_code, got_value;

static void handler(int sig, siginfo_t *info, void *ctx)
{
    (void)ctx;
    got_sig = sig;
    got_code = info->si_code;
    got_value = info->si_value.sival_int;
}

static long create(int notify, int signo, int tid, int *id)
{
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = notify;
    sev.sigev_signo = signo;
    sev.sigev_value.sival_int = 42;
    sev._sigev_un._tid = tid;
    return syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, id);
}

static void fire(const char *name, int notify, int signo)
{
    int id = -1;
    if (create(notify, signo, getpid(), &id))
        die(name);
    struct itimerspec its = {{0, 0}, {0, 100000000}};
    got_sig = 0;
    if (syscall(SYS_timer_settime, id, 0, &its, NULL))
        die("timer_settime");
    sigset_t none;
    sigemptyset(&none);
    while (!got_sig)
        sigsuspend(&none);
    out("%s: %s %s value=%d\n", name, signame(got_sig),
        got_code == SI_TIMER ? "SI_TIMER" : siname(got_code), got_value);
    syscall(SYS_timer_delete, id);
}

static void refused(const char *name, int notify, int signo, int tid)
{
    int id;
    long r = create(notify, signo, tid, &id);
    out("%s: %s\n", name, r == 0 ? "created" : strerrorname_np(errno));
}

static volatile int notified;

static void notify_function(union sigval v)
{
    notified = v.sival_int;
}

static int glibc_thread_timer(void)
{
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD;
    sev.sigev_notify_function = notify_function;
    sev.sigev_value.sival_int = 42;
    timer_t id;
    if (timer_create(CLOCK_MONOTONIC, &sev, &id)) {
        out("timer_create: %s\n", strerrorname_np(errno));
        return 0;
    }
    struct itimerspec its = {{0, 0}, {0, 100000000}};
    timer_settime(id, 0, &its, NULL);
    struct timespec tick = {0, 10000000};
    for (int i = 0; i < 500 && !notified; i++)
        nanosleep(&tick, NULL);
    out("notified %d\n", notified);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "glibc"))
        return glibc_thread_timer();
    struct sigaction sa = {0};
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);

    fire("SIGEV_SIGNAL", SIGEV_SIGNAL, SIGUSR1);
    fire("SIGEV_THREAD", SIGEV_THREAD, SIGUSR2);
    fire("SIGEV_THREAD_ID", SIGEV_THREAD_ID, SIGUSR1);

    pid_t child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    refused("SIGEV_THREAD_ID, a child's pid", SIGEV_THREAD_ID, SIGUSR1, child);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    refused("SIGEV_THREAD_ID, a reaped pid", SIGEV_THREAD_ID, SIGUSR1, child);
    refused("SIGEV_THREAD, signal 0", SIGEV_THREAD, 0, 0);
    refused("SIGEV_THREAD, signal 65", SIGEV_THREAD, 65, 0);
    refused("notify 3", 3, SIGUSR1, 0);
    refused("SIGEV_NONE, signal 0", SIGEV_NONE, 0, 0);

    /* timer_settime(2): no new value is EINVAL, checked before the timer id */
    int id;
    if (create(SIGEV_NONE, 0, 0, &id))
        die("timer_create");
    struct itimerspec old;
    long r = syscall(SYS_timer_settime, id, 0, NULL, &old);
    out("timer_settime(NULL): %s\n", r == 0 ? "0" : strerrorname_np(errno));
    r = syscall(SYS_timer_settime, id + 1000, 0, NULL, &old);
    out("timer_settime(no such timer, NULL): %s\n", r == 0 ? "0" : strerrorname_np(errno));
    return 0;
}
