/* A signalfd's descriptor number, once closed (close(2)), replaced (dup2(2)) or closed
 * by execve(2) (SFD_CLOEXEC), names whatever is opened there next: a read gets that
 * file's data, and signalfd(2) on it is EINVAL (not a signalfd). Each step puts a pipe
 * at the signalfd's old number and reads one byte through it. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <sys/signalfd.h>
#include "common.h"

static sigset_t usr1(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    return set;
}

static void read_at(const char *step, int fd)
{
    char c = '?';
    ssize_t n = read(fd, &c, 1);
    sigset_t set = usr1();
    int r = signalfd(fd, &set, 0);
    out("%s: read %zd '%c', signalfd on it %s\n", step, n, n == 1 ? c : '-',
        r >= 0 ? "ok" : strerrorname_np(errno));
}

int main(int argc, char **argv)
{
    sigset_t set = usr1();
    sigprocmask(SIG_BLOCK, &set, NULL);
    if (argc > 2) {   /* after the exec: argv[2] is the old signalfd's number */
        int fd = atoi(argv[2]);
        pipe_at(fd, 'e');
        read_at("after exec", fd);
        return 0;
    }
    int fd = signalfd(-1, &set, 0);
    close(fd);
    pipe_at(fd, 'c');
    read_at("after close", fd);
    close(fd);

    fd = signalfd(-1, &set, 0);
    int p[2];
    if (pipe(p))
        die("pipe");
    if (write(p[1], "d", 1) != 1)
        die("write");
    dup2(p[0], fd);
    read_at("after dup2", fd);
    close(fd);
    close(p[0]);
    close(p[1]);

    fd = signalfd(-1, &set, SFD_CLOEXEC);
    char num[16];
    snprintf(num, sizeof num, "%d", fd);
    execl("/proc/self/exe", argv[0], "exec", num, (char *)NULL);
    die("execl");
}
