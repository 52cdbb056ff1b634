/* fd_tables: a timerfd, signalfd or pidfd is an open file description, whatever
 * descriptor number names it (timerfd_create(2), signalfd(2), pidfd_open(2), dup(2)).
 *
 * - A timerfd's number, once closed, replaced by dup2 or closed by an exec (TFD_CLOEXEC),
 *   names the pipe opened there next: timerfd_settime and timerfd_gettime on it are
 *   EINVAL, and a read gets the pipe's byte.
 * - A dup of a timerfd is the same timer: armed through the copy, read through the
 *   original (closed meanwhile: the copy keeps it), and the copy still answers after the
 *   original is closed. A dup of a signalfd reads signals (a signalfd_siginfo) through
 *   the copy.
 * - timerfd_settime drops the expirations counted before it.
 * - A dup of a pidfd signals and waits for its process after the original is closed; a
 *   closed pidfd's number, holding a pipe, is EBADF for pidfd_send_signal.
 * "closed": a closed periodic timerfd, read through a dup before.
 * Exit status 0; 100+ when a step could not run. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include "common.h"

static const char *res(long r)
{
    static char buf[32];
    if (r < 0)
        return errname(errno);
    snprintf(buf, sizeof buf, "%ld", r);
    return buf;
}

static void not_a_timerfd(const char *step, int fd)
{
    struct itimerspec its = {{0, 0}, {5, 0}}, cur;
    long set = timerfd_settime(fd, 0, &its, NULL);
    const char *set_r = res(set);
    out("%s: settime %s", step, set_r);
    out(", gettime %s", res(timerfd_gettime(fd, &cur)));
    char c = '?';
    ssize_t n = read(fd, &c, 1);
    out(", read %zd '%c'\n", n, n == 1 ? c : '-');
}

static void arm(int fd, long sec, long interval)
{
    struct itimerspec its = {{interval, 0}, {sec, 0}};
    if (timerfd_settime(fd, 0, &its, NULL))
        die("timerfd_settime");
}

static void timerfd_dup(void)
{
    int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
    int copy = dup(tfd);
    arm(copy, 1, 0);
    struct itimerspec cur;
    memset(&cur, 0, sizeof cur);
    long r = timerfd_gettime(tfd, &cur);
    out("dup: gettime through the original %s, armed %s\n", res(r),
        cur.it_value.tv_sec || cur.it_value.tv_nsec ? "yes" : "no");
    uint64_t count = 0;
    ssize_t n = read(tfd, &count, sizeof count);
    out("dup: read the original %zd count %llu\n", n, (unsigned long long)count);
    arm(tfd, 1, 0);
    close(tfd);
    n = read(copy, &count, sizeof count);
    out("dup: original closed, read the copy %zd count %llu\n", n, (unsigned long long)count);
    out("dup: gettime through the copy %s\n", res(timerfd_gettime(copy, &cur)));
    close(copy);
}

/* expirations counted before a new setting are dropped (timerfd_create(2)) */
static void settime_resets_the_count(void)
{
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    struct itimerspec soon = {{0, 0}, {0, 1000000}};
    timerfd_settime(fd, 0, &soon, NULL);
    struct timespec pause_for = {0, 20000000};
    nanosleep(&pause_for, NULL);
    arm(fd, 100, 0);
    uint64_t count;
    out("settime after an expiry, then read: %s\n", res(read(fd, &count, sizeof count)));
    close(fd);
}

static void signalfd_dup(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int sfd = signalfd(-1, &set, 0);
    int copy = dup(sfd);
    close(sfd);
    kill(getpid(), SIGUSR1);
    struct signalfd_siginfo si;
    ssize_t n = read(copy, &si, sizeof si);
    out("signalfd dup: read %zd signal %s\n", n, n == sizeof si ? signame((int)si.ssi_signo) : "-");
    close(copy);
}

static void pidfd_dup(void)
{
    pid_t child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    int pfd = (int)syscall(SYS_pidfd_open, child, 0);
    int copy = dup(pfd);
    close(pfd);
    pipe_at(pfd, 'p');
    out("pidfd closed, a pipe there: send %s\n",
        res(syscall(SYS_pidfd_send_signal, pfd, SIGTERM, NULL, 0)));
    out("pidfd dup: send %s\n", res(syscall(SYS_pidfd_send_signal, copy, SIGTERM, NULL, 0)));
    siginfo_t si;
    memset(&si, 0, sizeof si);
    long r = syscall(SYS_waitid, P_PIDFD, copy, &si, WEXITED, NULL);
    out("pidfd dup: waitid %s child %d %s\n", res(r), si.si_pid == child,
        si.si_code == CLD_KILLED ? signame(si.si_status) : "?");
    close(pfd);
    close(copy);
}

/* "closed": a periodic timerfd read through a dup (the original closed first), then
 * closed too, while the program sleeps on */
static int closed_timer(void)
{
    int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
    struct itimerspec its = {{0, 1000000}, {0, 1000000}};
    timerfd_settime(tfd, 0, &its, NULL);
    int copy = dup(tfd);
    close(tfd);
    uint64_t count = 0;
    ssize_t n = read(copy, &count, sizeof count);
    out("read the copy %zd, expired %s\n", n, count >= 1 ? "yes" : "no");
    close(copy);
    sleep(10);
    out("slept\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "closed") == 0)
        return closed_timer();
    if (argc > 2) {   /* after the exec: argv[2] is the old timerfd's number */
        int fd = atoi(argv[2]);
        pipe_at(fd, 'e');
        not_a_timerfd("after exec", fd);
        return 0;
    }
    int fd = timerfd_create(CLOCK_MONOTONIC, 0);
    arm(fd, 100, 0);
    close(fd);
    pipe_at(fd, 'c');
    not_a_timerfd("after close", fd);
    close(fd);

    fd = timerfd_create(CLOCK_MONOTONIC, 0);
    pipe_at(fd, 'd');   /* dup2 over the open timerfd */
    not_a_timerfd("after dup2", fd);
    close(fd);

    timerfd_dup();
    settime_resets_the_count();
    signalfd_dup();
    pidfd_dup();

    fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    char num[16];
    snprintf(num, sizeof num, "%d", fd);
    execl("/proc/self/exe", argv[0], "exec", num, (char *)NULL);
    die("execl");
}
