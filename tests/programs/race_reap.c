/* A double-reap race: a SIGCHLD handler reaps with waitpid(-1, WNOHANG) while the main
 * loop waits for the same child by pid. Whoever reaps first wins; the main loop
 * reports "lost" (exit 1) when the handler took the child's status first (ECHILD),
 * "reaped" (exit 0) otherwise. Each round writes a line first, as a daemon logs. */
#include "common.h"

static volatile sig_atomic_t handler_reaped;

static void on_chld(int sig)
{
    (void)sig;
    int saved = errno;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        handler_reaped++;
    errno = saved;
}

int main(void)
{
    struct sigaction sa = {.sa_handler = on_chld, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGCHLD, &sa, NULL) < 0)
        die("sigaction");
    pid_t child = fork();
    if (child < 0)
        die("fork");
    if (child == 0)
        _exit(7);
    out("started %d\n", (int)child);
    int st;
    pid_t got = waitpid(child, &st, 0);
    if (got == child) {
        out("reaped %s\n", status(st));
        return 0;
    }
    out("lost %s\n", errname(errno));
    return 1;
}
