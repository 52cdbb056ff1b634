/* clone(2) CLONE_PARENT: the new process is its caller's sibling. A forks B; B clones C
 * with CLONE_PARENT; C's parent is A (C exits 3 if getppid() says so, 4 if not), B
 * cannot wait for it (B exits 0 on ECHILD, 1 otherwise), and A reaps both. */
#define _GNU_SOURCE
#include "common.h"
#include <sched.h>
#include <sys/syscall.h>

int main(void)
{
    pid_t a = getpid();
    int pipefd[2];
    if (pipe(pipefd) < 0)
        die("pipe");
    pid_t b = fork();
    if (b < 0)
        die("fork");
    if (b == 0) {
        long c = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
        if (c < 0)
            die("clone");
        if (c == 0)
            _exit(getppid() == a ? 3 : 4);
        if (write(pipefd[1], &c, sizeof c) != sizeof c)
            _exit(101);
        int st;
        _exit(waitpid((pid_t)c, &st, 0) < 0 && errno == ECHILD ? 0 : 1);
    }
    long c;
    if (read(pipefd[0], &c, sizeof c) != sizeof c)
        die("read");
    int st;
    if (waitpid(b, &st, 0) != b)
        die("waitpid B");
    out("A reaped B: %s\n", status(st));
    if (waitpid((pid_t)c, &st, 0) != (pid_t)c)
        die("waitpid C");
    out("A reaped C: %s\n", status(st));
    return 0;
}
