/* Blocking opens of a FIFO wait for the other end (fifo(7)): a reader until a writer
 * opens (one that writes and goes at once: the reader reads its bytes, then end of
 * file), a writer until a reader opens; a handler interrupts the wait (EINTR) or an
 * SA_RESTART one lets it go on; O_RDWR and O_NONBLOCK opens never wait (ENXIO for a
 * writer without a reader); the descriptor a blocking open gives is blocking. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "common.h"

static char path[64];

static long long since(long long t0) { return clock_ns(CLOCK_MONOTONIC) - t0; }

/* The peer's sleep starts a moment before the waiter's clock reading. */
static int about(long long t0, int secs)
{
    return since(t0) >= secs * 1000000000LL - 100000000LL;
}

static void reap(pid_t pid)
{
    int st;
    if (waitpid(pid, &st, 0) != pid)
        die("waitpid");
    out("child: %s\n", status(st));
}

/* A child that opens the FIFO with `flags` after `secs` seconds, writes `text` if it
 * is a writer, and keeps it open for `keep` seconds more. */
static pid_t peer(int flags, int secs, const char *text, int keep)
{
    pid_t pid = fork();
    if (pid == 0) {
        sleep(secs);
        int fd = open(path, flags);
        if (fd < 0)
            die("peer open");
        if (text && write(fd, text, strlen(text)) < 0)
            die("peer write");
        sleep(keep);
        _exit(0);
    }
    return pid;
}

static void on_alarm(int sig) { (void)sig; }

static void handler(int flags)
{
    struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = flags};
    sigaction(SIGALRM, &sa, NULL);
}

static void read_all(int fd)
{
    char buf[64];
    long n = read(fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    long eof = read(fd, buf + 40, 8);
    out("read %ld '%s', then %ld\n", n, buf, eof);
}

int main(void)
{
    snprintf(path, sizeof path, "/tmp/simproc-fifoopen-%d", getpid());
    unlink(path);
    if (mkfifo(path, 0600))
        die("mkfifo");

    pid_t pid = peer(O_WRONLY, 1, "first", 0);
    long long t0 = clock_ns(CLOCK_MONOTONIC);
    int fd = open(path, O_RDONLY);
    out("O_RDONLY open = %d, waited about 1 s: %d, blocking: %d\n", fd >= 0, about(t0, 1),
        !(fcntl(fd, F_GETFL) & O_NONBLOCK));
    read_all(fd);
    close(fd);
    reap(pid);

    pid = peer(O_RDONLY, 1, NULL, 1);
    t0 = clock_ns(CLOCK_MONOTONIC);
    fd = open(path, O_WRONLY);
    out("O_WRONLY open = %d, waited about 1 s: %d, blocking: %d\n", fd >= 0, about(t0, 1),
        !(fcntl(fd, F_GETFL) & O_NONBLOCK));
    close(fd);
    reap(pid);

    fd = open(path, O_WRONLY | O_NONBLOCK);
    int err = errno;
    out("O_WRONLY|O_NONBLOCK open without a reader = %d %s\n", fd, errname(err));
    fd = open(path, O_RDONLY | O_NONBLOCK);
    out("O_RDONLY|O_NONBLOCK open without a writer = %d\n", fd >= 0);
    close(fd);
    fd = open(path, O_RDWR);
    out("O_RDWR open without a peer = %d\n", fd >= 0);
    close(fd);

    handler(0);
    alarm(1);
    t0 = clock_ns(CLOCK_MONOTONIC);
    fd = open(path, O_RDONLY);
    err = errno;
    out("O_RDONLY open, a handler runs = %d %s, waited about 1 s: %d\n", fd,
        fd < 0 ? errname(err) : "", about(t0, 1));
    handler(SA_RESTART);
    pid = peer(O_WRONLY, 2, "second", 0);
    alarm(1);
    t0 = clock_ns(CLOCK_MONOTONIC);
    fd = open(path, O_RDONLY);
    out("O_RDONLY open, an SA_RESTART handler runs = %d, waited about 2 s: %d\n", fd >= 0,
        about(t0, 2));
    read_all(fd);
    close(fd);
    reap(pid);
    unlink(path);
    return 0;
}
