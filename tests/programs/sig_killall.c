/* sig_killall MODE: kill(-1, SIGKILL) inside a simulated host. NEVER run it natively.
 *
 *   MODE "tree": a tree of sleepers: the program forks two children, the first of
 *     which forks a grandchild and the second of which starts a new session; every
 *     process then sleeps 1000 s.
 *   MODE "kill": sleeps 1 s (so that the tree is built), calls kill(-1, SIGKILL),
 *     which reaches every process but init and the caller (kill(2)), prints the result
 *     and that it is still alive, then kills itself with SIGKILL.
 * Safety: "kill" refuses to run unless its parent is pid 1 (a program spawned in a
 * simulated host); run natively by mistake from a shell or pytest it exits 2 without
 * sending anything. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void sleep_s(int s)
{
    struct timespec d = {s, 0};
    while (nanosleep(&d, &d) != 0 && errno == EINTR)
        ;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "tree") == 0) {
        pid_t a = fork();
        if (a == 0) {
            if (fork() == 0) {
                sleep_s(1000);
                _exit(0);
            }
            sleep_s(1000);
            _exit(0);
        }
        pid_t b = fork();
        if (b == 0) {
            setsid();
            sleep_s(1000);
            _exit(0);
        }
        printf("tree built\n");
        fflush(stdout);
        sleep_s(1000);
        return 0;
    }
    if (strcmp(mode, "kill") == 0) {
        if (getppid() != 1) {
            fprintf(stderr, "sig_killall: refusing kill(-1, SIGKILL) outside a simulated "
                            "host (parent is not pid 1)\n");
            return 2;
        }
        sleep_s(1);
        int r = kill(-1, SIGKILL);
        printf("kill(-1, SIGKILL) = %d\n", r);
        printf("killer still alive\n");
        fflush(stdout);
        kill(getpid(), SIGKILL);
        return 3;
    }
    fprintf(stderr, "usage: sig_killall tree|kill\n");
    return 100;
}
