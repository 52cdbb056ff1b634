/* A lost-signal race: the parent installs its SIGUSR1 handler only after fork, and
 * the child signals it at once. If the signal comes first, its default action kills
 * the parent; otherwise the parent prints "handled" and exits 0. */
#include "common.h"

static volatile sig_atomic_t got;

static void on_usr1(int sig)
{
    (void)sig;
    got = 1;
}

int main(void)
{
    pid_t child = fork();
    if (child < 0)
        die("fork");
    if (child == 0) {
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    struct sigaction sa = {.sa_handler = on_usr1};
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, NULL) < 0)
        die("sigaction");
    int status;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    while (!got)
        pause();  /* the child sent it: it comes, now or already */
    out("handled\n");
    return 0;
}
