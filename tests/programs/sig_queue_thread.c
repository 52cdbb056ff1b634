/* rt_sigqueueinfo(2) given a thread's id (not its process's) queues the signal for
 * that thread's process: the thread that does not block it runs the handler, with
 * the sender's si_code and value. A tid that has ended is ESRCH. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include "common.h"

static volatile pid_t thread_tid;
static volatile sig_atomic_t handled_in, value, code;

static void handler(int sig, siginfo_t *info, void *ctx)
{
    (void)sig; (void)ctx;
    handled_in = (pid_t)syscall(SYS_gettid) == thread_tid ? 2 : 1;
    value = info->si_value.sival_int;
    code = info->si_code;
}

static void *thread(void *arg)
{
    sigset_t none;
    sigemptyset(&none);
    thread_tid = (pid_t)syscall(SYS_gettid);
    while (!handled_in)
        sigsuspend(&none);   /* the only place SIGUSR1 is unblocked */
    return arg;
}

static long queue(pid_t to)
{
    siginfo_t info;
    memset(&info, 0, sizeof info);
    info.si_signo = SIGUSR1;
    info.si_code = SI_QUEUE;
    info.si_pid = getpid();
    info.si_uid = getuid();
    info.si_value.sival_int = 777;
    return syscall(SYS_rt_sigqueueinfo, to, SIGUSR1, &info);
}

int main(void)
{
    struct sigaction sa = {0};
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, NULL);

    pthread_t t;
    if (pthread_create(&t, NULL, thread, NULL))
        die("pthread_create");
    struct timespec tick = {0, 1000000};
    while (!thread_tid)
        nanosleep(&tick, NULL);
    pid_t tid = thread_tid;
    long r = queue(tid);
    out("rt_sigqueueinfo(thread's tid) = %ld\n", r);
    pthread_join(t, NULL);
    out("handled in %s, value %d, %s\n", handled_in == 2 ? "the thread" : "main",
        value, siname(code));
    /* pthread_join returns once the kernel cleared the thread's tid word, which it does
     * before the thread is released: wait until its tid is gone (tgkill(2) signal 0) */
    for (int i = 0; i < 5000 && syscall(SYS_tgkill, getpid(), tid, 0) == 0; i++)
        nanosleep(&tick, NULL);
    r = queue(tid);
    out("rt_sigqueueinfo(ended thread's tid) = %s\n", r == 0 ? "0" : strerrorname_np(errno));
    return 0;
}
