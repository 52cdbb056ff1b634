/* pidfd_checks: pidfd_open(2) and pidfd_send_signal(2) beyond the common path.
 * "nonblock": waitid(P_PIDFD) on a PIDFD_NONBLOCK pidfd of a running child fails with
 * EAGAIN (with WNOHANG it gives 0 and si_pid 0, waitid(2)); once the pidfd polls
 * readable the child is reaped through it.
 * "init" (run as root): a user without CAP_KILL may not signal init (kill(2) EPERM),
 * through kill or through a descriptor of /proc/1 given to pidfd_send_signal. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include "common.h"

#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif

static int nonblock(void)
{
    int go[2];
    if (pipe(go) < 0)
        die("pipe");
    pid_t pid = fork();
    if (pid == 0) {
        take_byte(go[0]);
        _exit(3);
    }
    int fd = (int)syscall(SYS_pidfd_open, pid, PIDFD_NONBLOCK);
    if (fd < 0)
        die("pidfd_open");
    siginfo_t si;
    memset(&si, 0, sizeof si);
    long r = waitid(P_PIDFD, fd, &si, WEXITED);
    out("running, waitid %ld %s\n", r, r < 0 ? errname(errno) : "");
    si.si_pid = 12345;
    r = waitid(P_PIDFD, fd, &si, WEXITED | WNOHANG);
    out("running, WNOHANG: waitid %ld si_pid %d\n", r, si.si_pid);
    pass_byte(go[1]);
    struct pollfd p = {fd, POLLIN, 0};
    out("poll %d\n", poll(&p, 1, -1));
    r = waitid(P_PIDFD, fd, &si, WEXITED);
    out("ended, waitid %ld child %d status %d\n", r, si.si_pid == pid, si.si_status);
    return 0;
}

static int init(void)
{
    int dir = open("/proc/1", O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        die("open /proc/1");
    if (setuid(65534) < 0)
        die("setuid");
    long r = kill(1, 0);
    out("kill %ld %s\n", r, r < 0 ? errname(errno) : "");
    r = syscall(SYS_pidfd_send_signal, dir, 0, NULL, 0);
    out("pidfd_send_signal %ld %s\n", r, r < 0 ? errname(errno) : "");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "init"))
        return init();
    return nonblock();
}
