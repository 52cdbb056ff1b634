/* Waits for file locks held by another process: flock(2) until the holder unlocks,
 * closes or exits, LOCK_NB's EWOULDBLOCK, shared locks that do not wait; fcntl(2)
 * F_SETLKW on a conflicting byte range until its holder unlocks, interrupted by a
 * handler (EINTR) or restarted by an SA_RESTART one, its deadlock check (EDEADLK);
 * F_OFD_SETLKW until the other description closes; F_GETLK names the holder by its pid. Each wait is timed on
 * CLOCK_MONOTONIC and printed as "waited about N s: 1". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/wait.h>
#include "common.h"

static char path[64];

static int reopen(void)
{
    int fd = open(path, O_RDWR);
    if (fd < 0)
        die("open");
    return fd;
}

static int range(int fd, int cmd, short type, off_t start, off_t len)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    return fcntl(fd, cmd, &fl);
}

static long long since(long long t0) { return clock_ns(CLOCK_MONOTONIC) - t0; }

/* A call's result and errno, read in that order. */
static const char *result(long r)
{
    static char buf[64];
    snprintf(buf, sizeof buf, "%ld%s%s", r, r ? " " : "", r ? errname(errno) : "");
    return buf;
}

/* The holder's sleep starts a moment before the waiter's clock reading. */
static void waited(const char *what, long r, long long t0, int secs)
{
    out("%s = %s, waited about %d s: %d\n", what, result(r), secs,
        since(t0) >= secs * 1000000000LL - 100000000LL);
}

static void reap(pid_t pid)
{
    int st;
    if (waitpid(pid, &st, 0) != pid)
        die("waitpid");
    out("child: %s\n", status(st));
}

/* A child that takes the lock `take` needs, tells the parent, and lets it go after
 * `secs` seconds by `how`: 'u' unlock, 'c' close, 'x' exit. */
static pid_t holder(int (*take)(int), char how, int secs)
{
    int p[2];
    if (pipe(p))
        die("pipe");
    pid_t pid = fork();
    if (pid == 0) {
        int fd = reopen();
        if (take(fd))
            die("take");
        pass_byte(p[1]);
        sleep(secs);
        if (how == 'x')
            _exit(0);
        if (how == 'u' && (flock(fd, LOCK_UN) || range(fd, F_SETLK, F_UNLCK, 0, 0)))
            die("unlock");
        close(fd);
        if (how == 'c')
            usleep(200000); /* alive, without the description */
        _exit(0);
    }
    close(p[1]);
    take_byte(p[0]);
    close(p[0]);
    return pid;
}

static int flock_ex(int fd) { return flock(fd, LOCK_EX); }
static int flock_sh(int fd) { return flock(fd, LOCK_SH); }
static int posix_bytes(int fd) { return range(fd, F_SETLK, F_WRLCK, 0, 10); }
static int ofd_whole(int fd) { return range(fd, F_OFD_SETLK, F_WRLCK, 0, 0); }

static void on_alarm(int sig) { (void)sig; }

static void handler(int flags)
{
    struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = flags};
    sigaction(SIGALRM, &sa, NULL);
}

int main(void)
{
    snprintf(path, sizeof path, "/tmp/simproc-filelocks-XXXXXX");
    int made = mkstemp(path);
    if (made < 0)
        die("mkstemp");
    close(made);

    const char how[] = {'u', 'c', 'x'};
    const char *names[] = {"unlocks", "closes", "exits"};
    for (int i = 0; i < 3; i++) {
        pid_t pid = holder(flock_ex, how[i], 1);
        int fd = reopen();
        out("flock(LOCK_EX|LOCK_NB) while held = %s\n", result(flock(fd, LOCK_EX | LOCK_NB)));
        long long t0 = clock_ns(CLOCK_MONOTONIC);
        char what[64];
        snprintf(what, sizeof what, "flock(LOCK_EX), the holder %s", names[i]);
        waited(what, flock(fd, LOCK_EX), t0, 1);
        close(fd);
        reap(pid);
    }

    pid_t pid = holder(flock_sh, 'u', 1);
    int fd = reopen();
    long long t0 = clock_ns(CLOCK_MONOTONIC);
    out("flock(LOCK_SH) beside a shared holder = %d, at once: %d\n", flock(fd, LOCK_SH),
        since(t0) < 1000000000LL);
    close(fd);
    reap(pid);

    /* F_SETLKW: bytes 0-9 held; 5-14 waits, 10-19 does not */
    pid = holder(posix_bytes, 'u', 3);
    fd = reopen();
    out("F_SETLK(10-19) beside 0-9 = %d\n", range(fd, F_SETLK, F_WRLCK, 10, 10));
    out("F_SETLK(5-14) = %s\n", result(range(fd, F_SETLK, F_RDLCK, 5, 10)));
    struct flock probe = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 5, .l_len = 10};
    if (fcntl(fd, F_GETLK, &probe))
        die("F_GETLK");
    out("F_GETLK(5-14): a write lock of 0-9 held by the child: %d\n",
        probe.l_type == F_WRLCK && probe.l_start == 0 && probe.l_len == 10 && probe.l_pid == pid);
    handler(0);
    alarm(1);
    t0 = clock_ns(CLOCK_MONOTONIC);
    waited("F_SETLKW(5-14), a handler runs", range(fd, F_SETLKW, F_RDLCK, 5, 10), t0, 1);
    handler(SA_RESTART);
    alarm(1);
    waited("F_SETLKW(5-14), an SA_RESTART handler runs", range(fd, F_SETLKW, F_RDLCK, 5, 10),
           t0, 3);
    close(fd);
    reap(pid);

    /* deadlock: the child holds byte 1 and waits for byte 0, which the parent holds */
    fd = reopen();
    if (range(fd, F_SETLK, F_WRLCK, 0, 1))
        die("lock byte 0");
    int p[2];
    if (pipe(p))
        die("pipe");
    pid = fork();
    if (pid == 0) {
        int cfd = reopen();
        if (range(cfd, F_SETLK, F_WRLCK, 1, 1))
            die("lock byte 1");
        pass_byte(p[1]);
        long r = range(cfd, F_SETLKW, F_WRLCK, 0, 1);
        out("child: F_SETLKW(byte 0) = %ld\n", r);
        _exit(0);
    }
    take_byte(p[0]);
    char buf[256];
    for (int tries = 0; *proc_stat(pid, buf, sizeof buf) != 'S'; tries++) {
        if (tries > 3000)
            die("the child never waited");
        usleep(10000);
    }
    out("F_SETLKW(byte 1) held by a waiter for mine = %s\n",
        result(range(fd, F_SETLKW, F_WRLCK, 1, 1)));
    close(fd); /* lets the child have byte 0 */
    reap(pid);

    pid = holder(ofd_whole, 'c', 1);
    fd = reopen();
    t0 = clock_ns(CLOCK_MONOTONIC);
    waited("F_OFD_SETLKW(whole file), the holder closes", range(fd, F_OFD_SETLKW, F_WRLCK, 0, 0),
           t0, 1);
    close(fd);
    reap(pid);
    unlink(path);
    return 0;
}
