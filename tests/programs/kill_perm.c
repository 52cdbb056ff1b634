/* kill(2)'s permission rule: without CAP_KILL, the sender's real or effective user
 * id must be the receiver's real or saved one (EPERM otherwise, for signal 0 too);
 * SIGCONT goes to any process of the sender's session. tgkill(2) and sigqueue(3)
 * check the same. Run as root: the children take user ids of their own with
 * setresuid(2), so the parent (root) may signal everyone. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include "common.h"

static const char *res(long r)
{
    return r == 0 ? "0" : strerrorname_np(errno);
}

static volatile sig_atomic_t usr2;

static void on_usr2(int sig)
{
    (void)sig;
    usr2++;
}

static pid_t child_as(uid_t real, uid_t effective, uid_t saved, int new_session)
{
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        if (new_session)
            setsid();
        if (setresuid(real, effective, saved))
            die("setresuid");
        for (;;)
            pause();
    }
    return pid;
}

int main(void)
{
    if (geteuid() != 0) {
        out("not root\n");
        return 0;
    }
    signal(SIGCONT, SIG_DFL);
    signal(SIGUSR2, on_usr2);
    pid_t a = child_as(1001, 1001, 1001, 0);       /* a plain user 1001 */
    pid_t b = child_as(1002, 1002, 1001, 0);       /* user 1002, saved id 1001 */
    pid_t c = child_as(1003, 1003, 1003, 1);       /* user 1003 in a session of its own */
    struct timespec settle = {0, 200000000};
    nanosleep(&settle, NULL);

    pid_t sender = fork();
    if (sender == 0) {
        if (setresuid(1001, 1001, 1001))
            die("setresuid");
        union sigval v = {.sival_int = 1};
        out("1001 -> 1001: kill 0 %s\n", res(kill(a, 0)));
        out("1001 -> saved 1001: kill 0 %s\n", res(kill(b, 0)));
        out("1001 -> 1003: kill 0 %s, SIGTERM %s, SIGCONT %s\n", res(kill(c, 0)),
            res(kill(c, SIGTERM)), res(kill(c, SIGCONT)));
        out("1001 -> 1003: sigqueue %s, tgkill %s\n", res(sigqueue(c, SIGUSR1, v)),
            res(syscall(SYS_tgkill, c, c, SIGUSR1)));
        out("1001 -> root: kill 0 %s, SIGCONT in its session %s\n",
            res(kill(getppid(), 0)), res(kill(getppid(), SIGCONT)));
        out("1001 -> no such pid: kill 0 %s\n", res(kill(99999999, 0)));
        out("1001 -> 1003's group: kill 0 %s\n", res(kill(-c, 0)));
        sigset_t usr2;
        sigemptyset(&usr2);
        sigaddset(&usr2, SIGUSR2);
        sigprocmask(SIG_BLOCK, &usr2, NULL);
        out("1001 -> its own group (root, 1001, 1002 saved 1001): SIGUSR2 %s\n",
            res(kill(0, SIGUSR2)));
        out("1001 -> everyone: kill 0 %s\n", res(kill(-1, 0)));
        _exit(0);
    }
    int st;
    waitpid(sender, &st, 0);
    pid_t kids[] = {a, b, c};
    for (int i = 0; i < 3; i++) {
        kill(kids[i], SIGKILL);
        waitpid(kids[i], &st, 0);
        out("child %d: %s\n", i, status(st));
    }
    out("root got SIGUSR2: %d\n", (int)usr2);
    return 0;
}
