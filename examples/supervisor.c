/* supervisor: a tiny process supervisor.
 *
 *   supervisor [NWORKERS]      (default 2, at most 64)
 *
 * Forks NWORKERS workers. Each worker loops forever: sleep 1 s, then write
 *   "heartbeat <pid> <time(NULL)>\n"
 * to stdout. The supervisor waits for any child with wait4(-1); a worker that dies is
 * replaced at once:
 *   "restart <oldpid> -> <newpid> status exited <n>"   or   "... status signal <n>"
 * On SIGTERM (a sigaction handler without SA_RESTART, so a wait4 with nothing to reap
 * fails with EINTR) it sends SIGTERM to every worker, reaps them all ("reaped <pid>
 * status signal 15"), prints "bye" and exits 0.
 *
 * Every line is one write(2) on the shared stdout, so lines never interleave.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS 64

static volatile sig_atomic_t stopping;

static void on_term(int sig) { (void)sig; stopping = 1; }

static void say(const char *fmt, ...) {
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof buf - 1) n = sizeof buf - 1;
    if (write(STDOUT_FILENO, buf, n) != n) _exit(99);
}

static const char *describe(int status, char *buf, size_t len) {
    if (WIFEXITED(status)) snprintf(buf, len, "exited %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status)) snprintf(buf, len, "signal %d", WTERMSIG(status));
    else snprintf(buf, len, "raw 0x%x", status);
    return buf;
}

static void worker(const sigset_t *unblocked) {
    struct sigaction dfl = {0};
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGTERM, &dfl, NULL);
    sigprocmask(SIG_SETMASK, unblocked, NULL);  /* a SIGTERM sent meanwhile kills it now */
    for (;;) {
        struct timespec ts = {1, 0};
        nanosleep(&ts, NULL);
        say("heartbeat %d %ld\n", (int)getpid(), (long)time(NULL));
    }
}

/* SIGTERM stays blocked across fork until the worker has its default action back:
 * sent to a worker that still had the supervisor's handler, it would only set that
 * worker's own "stopping" flag and the worker would never end. */
static pid_t start_worker(void) {
    sigset_t term, old;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigprocmask(SIG_BLOCK, &term, &old);
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); exit(2); }
    if (pid == 0) worker(&old);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return pid;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 2;
    if (n < 1 || n > MAX_WORKERS) { fprintf(stderr, "usage: supervisor [1..%d]\n", MAX_WORKERS); return 2; }

    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;                       /* no SA_RESTART: wait4 returns EINTR */
    sigaction(SIGTERM, &sa, NULL);

    pid_t workers[MAX_WORKERS];
    say("supervisor %d starting %d workers at %ld\n", (int)getpid(), n, (long)time(NULL));
    for (int i = 0; i < n; i++) workers[i] = start_worker();

    char desc[64];
    while (!stopping) {
        int status;
        pid_t pid = wait4(-1, &status, 0, NULL);
        if (pid < 0) {
            if (errno == EINTR) continue;
            perror("wait4");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            if (workers[i] == pid) {
                workers[i] = start_worker();
                say("restart %d -> %d status %s\n", (int)pid, (int)workers[i],
                    describe(status, desc, sizeof desc));
            }
        }
    }

    say("supervisor stopping at %ld\n", (long)time(NULL));
    for (int i = 0; i < n; i++) kill(workers[i], SIGTERM);
    for (int left = n; left > 0;) {
        int status;
        pid_t pid = wait4(-1, &status, 0, NULL);
        if (pid < 0) {
            if (errno == EINTR) continue;
            perror("wait4");
            return 1;
        }
        say("reaped %d status %s\n", (int)pid, describe(status, desc, sizeof desc));
        left--;
    }
    say("bye\n");
    return 0;
}
