/* Writes and reads of every kind of descriptor the host looks at before letting the
 * call run: each line shows what the calls returned, the same natively and in a
 * host. Pipes and a pty are drained by a child; a full non-blocking pipe, a pipe
 * without a reader, a closed descriptor get the kernel's errors. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static char line[64];

/* a child reads ``in`` until ``want`` bytes (or end of file) and exits 0 if it got them */
static pid_t drainer(int in, int out, long want)
{
    pid_t pid = fork();
    if (pid == 0) {
        static char buf[65536];
        long got = 0;
        close(out);
        while (got < want) {
            ssize_t n = read(in, buf, sizeof buf);
            if (n <= 0)
                break;
            got += n;
        }
        _exit(got == want ? 0 : 1);
    }
    close(in);
    return pid;
}

static int reaped(pid_t pid)
{
    int status;
    return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && !WEXITSTATUS(status);
}

static long lines_to(int fd, int n)
{
    long total = 0;
    for (int i = 0; i < n; i++) {
        ssize_t w = write(fd, line, sizeof line);
        if (w < 0)
            return -errno;
        total += w;
    }
    return total;
}

int main(void)
{
    int p[2];
    pid_t pid;
    long total;
    memset(line, 'x', sizeof line - 1);
    line[sizeof line - 1] = '\n';

    /* lines to a pipe a child drains (the pipe fills many times over) */
    pipe(p);
    pid = drainer(p[0], p[1], 3000L * sizeof line);
    total = lines_to(p[1], 3000);
    close(p[1]);
    printf("pipe lines %ld drained %d\n", total, reaped(pid));

    /* writev of small segments to a drained pipe */
    pipe(p);
    pid = drainer(p[0], p[1], 2000L * 30);
    struct iovec iov[3] = {{line, 10}, {line, 15}, {line, 5}};
    total = 0;
    for (int i = 0; i < 2000; i++)
        total += writev(p[1], iov, 3);
    close(p[1]);
    printf("pipe writev %ld drained %d\n", total, reaped(pid));

    /* files that never wait */
    int null = open("/dev/null", O_WRONLY);
    printf("devnull %ld\n", lines_to(null, 1000));
    close(null);
    char path[] = "/tmp/writekinds.XXXXXX";
    int file = mkstemp(path);
    unlink(path);
    total = lines_to(file, 1000);
    printf("file %ld size %ld\n", total, (long)lseek(file, 0, SEEK_END));
    close(file);

    /* a closed descriptor */
    total = write(file, line, 1) < 0 ? -errno : 0;
    printf("closed write %ld read %ld\n", total, (long)(read(file, line, 1) < 0 ? -errno : 0));

    /* a non-blocking pipe nobody reads: it takes what fits, then EAGAIN */
    pipe2(p, O_NONBLOCK);
    total = 0;
    for (;;) {
        ssize_t w = write(p[1], line, sizeof line);
        if (w < 0) {
            printf("nonblocking pipe %ld then %s\n", total, strerror(errno));
            break;
        }
        total += w;
    }
    /* ... and reads what is there, then EAGAIN */
    static char buf[65536];
    ssize_t r = read(p[0], buf, sizeof buf);
    printf("nonblocking read %ld then ", (long)r);
    printf("%s\n", read(p[0], buf, sizeof buf) < 0 ? strerror(errno) : "data");
    close(p[0]);
    /* a pipe without a reader: EPIPE, SIGPIPE ignored */
    signal(SIGPIPE, SIG_IGN);
    printf("no reader %s\n", write(p[1], line, sizeof line) < 0 ? strerror(errno) : "wrote");
    close(p[1]);

    /* a read of a pipe with data waiting, of one at end of file */
    pipe(p);
    write(p[1], line, 10);
    close(p[1]);
    r = read(p[0], buf, sizeof buf);
    printf("pipe read %ld then %ld\n", (long)r, (long)read(p[0], buf, sizeof buf));
    close(p[0]);

    /* stream and datagram sockets */
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    printf("stream %ld", (long)write(sv[0], line, sizeof line));
    fflush(stdout);
    printf(" read %ld\n", (long)read(sv[1], buf, sizeof buf));
    close(sv[0]);
    close(sv[1]);
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    printf("dgram %ld", (long)write(sv[0], line, sizeof line));
    printf(" read %ld\n", (long)read(sv[1], buf, sizeof buf));
    close(sv[0]);
    close(sv[1]);

    /* lines to a pty (raw) whose master a child drains */
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    grantpt(master);
    unlockpt(master);
    int slave = open(ptsname(master), O_WRONLY | O_NOCTTY);
    struct termios t;
    tcgetattr(slave, &t);
    cfmakeraw(&t);
    tcsetattr(slave, TCSANOW, &t);
    pid = drainer(master, slave, 2000L * sizeof line);
    total = lines_to(slave, 2000);
    printf("pty lines %ld drained %d\n", total, reaped(pid));
    close(slave);
    return 0;
}
