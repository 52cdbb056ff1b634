/* sig_wakeup: a signal that arrives while blocked must end the next sigsuspend.
 *
 * 50 times: fork a child that sends SIGUSR1 (blocked in the parent) to the parent and
 * exits; the parent waits for it with sigsuspend(empty mask), then reaps the child.
 * Whether the signal comes before or during the sigsuspend, it is delivered there.
 * Prints "rounds 50 handled 50"; exit status 0. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t got;

static void on_usr1(int s)
{
    (void)s;
    got++;
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t blk, none;
    sigemptyset(&blk);
    sigaddset(&blk, SIGUSR1);
    sigemptyset(&none);
    sigprocmask(SIG_BLOCK, &blk, NULL);
    int rounds = 0;
    for (int i = 0; i < 50; i++) {
        pid_t c = fork();
        if (c < 0)
            return 100;
        if (c == 0) {
            kill(getppid(), SIGUSR1);
            _exit(0);
        }
        while (got < i + 1)
            sigsuspend(&none);
        int st;
        if (waitpid(c, &st, 0) != c || !WIFEXITED(st))
            return 101;
        rounds++;
    }
    printf("rounds %d handled %d\n", rounds, (int)got);
    return 0;
}
