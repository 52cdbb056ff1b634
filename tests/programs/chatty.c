/* chatty: write "started", then call getppid() forever; SIGTERM writes "got SIGTERM"
 * and exits 0. Keeps a host busy in real time while virtual time barely moves (each
 * call is charged a microsecond of CPU), so only a signal ends it. */
#include <signal.h>
#include <string.h>
#include <unistd.h>

static void on_term(int sig)
{
    static const char msg[] = "got SIGTERM\n";
    (void)sig;
    if (write(1, msg, sizeof msg - 1) < 0)
        _exit(2);
    _exit(0);
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    if (sigaction(SIGTERM, &sa, NULL) != 0)
        return 1;
    static const char msg[] = "started\n";
    if (write(1, msg, sizeof msg - 1) < 0)
        return 1;
    for (;;)
        getppid();
}
