/* vfork_exec: vfork()+execve and posix_spawn, each followed by a wait. Lines:
 *   vfork_exec_true exited 0 same-pid         (vfork, execve /bin/true)
 *   vfork_exec_missing exited 127 same-pid    (vfork, execve of a missing file, _exit(127))
 *   spawned                                   (written by /bin/echo)
 *   posix_spawn_echo 0 exited 0 same-pid      (posix_spawn /bin/echo spawned)
 *   posix_spawn_missing ENOENT                (posix_spawn of a missing file)
 * "same-pid": the pid wait returned is the one vfork/posix_spawn returned.
 * Exit status 0; 100+ when a step could not run. */
#define _GNU_SOURCE
#include <errno.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

extern char **environ;

static void wait_for(const char *label, pid_t c)
{
    int st;
    pid_t r;
    while ((r = waitpid(-1, &st, 0)) < 0 && errno == EINTR)
        ;
    if (r < 0) {
        out("%s wait -1 %s\n", label, errname(errno));
        _exit(101);
    }
    out("%s %s %s\n", label, status(st), r == c ? "same-pid" : "other-pid");
}

static void vfork_exec(const char *label, const char *path)
{
    char *args[] = {(char *)"true", NULL};
    pid_t c = vfork();
    if (c < 0) {
        out("%s vfork -1 %s\n", label, errname(errno));
        _exit(100);
    }
    if (c == 0) {
        execve(path, args, environ);
        _exit(127);
    }
    wait_for(label, c);
}

int main(void)
{
    vfork_exec("vfork_exec_true", "/bin/true");
    vfork_exec("vfork_exec_missing", "/nonexistent/simproc-test/true");

    pid_t c;
    char *echo_args[] = {(char *)"echo", (char *)"spawned", NULL};
    int r = posix_spawn(&c, "/bin/echo", NULL, NULL, echo_args, environ);
    if (r != 0) {
        out("posix_spawn_echo %s\n", errname(r));
        return 100;
    }
    wait_for("posix_spawn_echo 0", c);

    char *missing_args[] = {(char *)"missing", NULL};
    r = posix_spawn(&c, "/nonexistent/simproc-test/missing", NULL, NULL, missing_args, environ);
    out("posix_spawn_missing %s\n", r == 0 ? "0" : errname(r));
    if (r == 0)
        wait_for("posix_spawn_missing_wait", c);
    return 0;
}
