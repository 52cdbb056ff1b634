/* A wait woken by its child's exit completes before the SIGCHLD that came with the
 * exit interrupts it: the parent is blocked in waitpid when its child ends, so the
 * main loop reaps the child and the SA_RESTART handler's own waitpid(WNOHANG) then
 * finds nothing (wait(2): do_wait looks for the child before it looks at signals). */
#include "common.h"
#include <time.h>

static volatile sig_atomic_t handler_calls, handler_reaped;

static void on_chld(int sig)
{
    (void)sig;
    int saved = errno;
    handler_calls++;
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
    if (child == 0) {
        struct timespec nap = {0, 200000000};  /* the parent is in waitpid by then */
        nanosleep(&nap, NULL);
        _exit(7);
    }
    int st;
    pid_t got = waitpid(child, &st, 0);
    if (got != child)
        die("waitpid");
    out("main reaped %s; handler ran %d time(s), reaped %d\n", status(st),
        (int)handler_calls, (int)handler_reaped);
    return 0;
}
