/* (f) Parent and child bounce a signal N times: the parent sends SIGUSR1, the child
 * answers SIGUSR2. Both keep the two signals blocked and take them only inside
 * sigsuspend(2), so no signal is lost and there is no pipe. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t got;

static void on_signal(int sig) { (void)sig; got++; }

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 10000;
    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    sigset_t block, waitmask;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGUSR2);
    sigprocmask(SIG_BLOCK, &block, &waitmask);
    sigdelset(&waitmask, SIGUSR1);
    sigdelset(&waitmask, SIGUSR2);

    pid_t parent = getpid();
    pid_t child = fork();
    if (child < 0) { perror("fork"); return 1; }
    if (child == 0) {
        for (long i = 0; i < n; i++) {
            while (got == 0)
                sigsuspend(&waitmask);
            got--;
            kill(parent, SIGUSR2);
        }
        _exit(0);
    }
    for (long i = 0; i < n; i++) {
        kill(child, SIGUSR1);
        while (got == 0)
            sigsuspend(&waitmask);
        got--;
    }
    int status;
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status)) {
        fprintf(stderr, "child failed: %#x\n", status);
        return 1;
    }
    return 0;
}
