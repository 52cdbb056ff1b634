/* RLIMIT_SIGPENDING (getrlimit(2)): queued signals of the user are counted, standard
 * and real-time alike; a real-time signal sent with sigqueue(3) or tgkill(2) fails
 * with EAGAIN once the count reaches the limit, while kill(2) can still send one, and
 * a standard signal is still sent (only its siginfo is not queued). Everything is
 * blocked and then dequeued with sigtimedwait(2). The count is the real user's across
 * the machine: run as root, the program first becomes a user with no other process
 * (a pending signal of another root process would count). */
#define _GNU_SOURCE
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include "common.h"

static const char *res(long r)
{
    return r == 0 ? "0" : strerrorname_np(errno);
}

static int drain(int sig)
{
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    struct timespec zero = {0, 0};
    int n = 0;
    while (sigtimedwait(&one, NULL, &zero) == sig)
        n++;
    return n;
}

int main(void)
{
    if (getuid() == 0 && (setresgid(54321, 54321, 54321) || setresuid(54321, 54321, 54321)))
        die("setresuid");
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, NULL);
    struct rlimit lim = {3, 3};
    if (setrlimit(RLIMIT_SIGPENDING, &lim))
        die("setrlimit");
    union sigval v = {.sival_int = 1};
    for (int i = 1; i <= 4; i++)
        out("sigqueue(SIGRTMIN) #%d: %s\n", i, res(sigqueue(getpid(), SIGRTMIN, v)));
    out("tgkill(SIGRTMIN+1): %s\n",
        res(syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), SIGRTMIN + 1)));
    out("kill(SIGRTMIN+2): %s\n", res(kill(getpid(), SIGRTMIN + 2)));
    out("sigqueue(SIGUSR1): %s\n", res(sigqueue(getpid(), SIGUSR1, v)));
    out("queued: SIGRTMIN %d, SIGRTMIN+1 %d, SIGRTMIN+2 %d, SIGUSR1 %d\n", drain(SIGRTMIN),
        drain(SIGRTMIN + 1), drain(SIGRTMIN + 2), drain(SIGUSR1));
    out("after draining, sigqueue(SIGRTMIN): %s\n", res(sigqueue(getpid(), SIGRTMIN, v)));
    out("queued: SIGRTMIN %d\n", drain(SIGRTMIN));
    return 0;
}
