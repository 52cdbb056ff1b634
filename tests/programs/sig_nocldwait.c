/* sig_nocldwait MODE: children that are reaped automatically.
 *
 * MODE "nocldwait": SIGCHLD at SIG_DFL with SA_NOCLDWAIT; MODE "ignore": SIGCHLD at
 * SIG_IGN; MODE "default": plain SIG_DFL, for contrast.
 * Three children sleep 100, 200 and 300 ms and exit with 1, 2, 3. With auto-reaping, wait() blocks
 * until all of them have ended and then fails with ECHILD (wait(2) NOTES); the
 * children are gone (kill(pid, 0) fails with ESRCH). With "default" wait() returns
 * each child. Exit status 0; 100+ when a step could not run. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "common.h"

static long long mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "nocldwait";
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    if (strcmp(mode, "nocldwait") == 0) {
        sa.sa_handler = SIG_DFL;
        sa.sa_flags = SA_NOCLDWAIT;
    } else if (strcmp(mode, "ignore") == 0) {
        sa.sa_handler = SIG_IGN;
    } else if (strcmp(mode, "default") == 0) {
        sa.sa_handler = SIG_DFL;
    } else {
        out("usage: sig_nocldwait nocldwait|ignore|default\n");
        return 100;
    }
    if (sigaction(SIGCHLD, &sa, NULL) != 0)
        return 100;
    out("mode %s\n", mode);

    pid_t kids[3];
    long long t0 = mono_ns();
    for (int i = 0; i < 3; i++) {
        kids[i] = fork();
        if (kids[i] < 0)
            return 101;
        if (kids[i] == 0) {
            struct timespec d = {0, (i + 1) * 100 * 1000 * 1000L};
            while (nanosleep(&d, &d) != 0 && errno == EINTR)
                ;
            _exit(i + 1);
        }
    }
    for (;;) {
        int st;
        pid_t r = wait(&st);
        if (r < 0) {
            out("wait -1 %s\n", errname(errno));
            break;
        }
        int n = 0;
        for (int i = 0; i < 3; i++)
            if (kids[i] == r)
                n = i + 1;
        out("wait child#%d exited %d\n", n, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    }
    long long waited = mono_ns() - t0;
    out("waited_until_children_ended %s\n", waited >= 300 * 1000 * 1000LL ? "yes" : "no");
    for (int i = 0; i < 3; i++) {
        int r = kill(kids[i], 0);
        out("kill0 child#%d %s\n", i + 1, r == 0 ? "0" : errname(errno));
    }
    siginfo_t si;
    memset(&si, 0, sizeof si);
    int r = waitid(P_ALL, 0, &si, WEXITED | WNOHANG);
    out("waitid_after %s\n", r == 0 ? "0" : errname(errno));
    out("done\n");
    return 0;
}
