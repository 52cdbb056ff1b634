/* Shared by the test programs: out() writes one formatted piece to stdout with a
 * single write(2), unbuffered, so that lines from several processes interleave in the
 * order the processes ran (stdio buffers would reorder them at exit); pass_byte() and
 * take_byte() hand one byte through a pipe between processes; die() reports a
 * failed step and exits 100; signame(), errname() and status() name a signal, an errno
 * or a wait status the way the tests expect ("SIGCHLD", "SIGRTMIN+2", "EINVAL";
 * "SIG#n" / "E#n" if unknown; "exited 3", "signaled SIGTERM"); pipe_at() puts a pipe
 * holding one byte at a given descriptor number. */
#ifndef SIMPROC_TEST_COMMON_H
#define SIMPROC_TEST_COMMON_H
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2), unused));

static void out(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (write(1, buf, (size_t)n) != n)
        _exit(102);
}

/* A step the program needs failed: say which and why, exit 100. */
static void die(const char *what) __attribute__((unused, noreturn));

static void die(const char *what)
{
    out("error %s %s\n", what, strerror(errno));
    _exit(100);
}

/* One byte through a pipe, between processes that wait for each other (die() if
 * it cannot be written or read). */
static void pass_byte(int fd) __attribute__((unused));

static void pass_byte(int fd)
{
    if (write(fd, "x", 1) != 1)
        die("write");
}

/* /proc/PID/stat's fields from the third (state) on (proc(5)), read into buf. */
static char *proc_stat(pid_t pid, char *buf, int size) __attribute__((unused));

static char *proc_stat(pid_t pid, char *buf, int size)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f || !fgets(buf, size, f))
        die("read stat");
    fclose(f);
    return strrchr(buf, ')') + 2;
}

static void take_byte(int fd) __attribute__((unused));

static void take_byte(int fd)
{
    char c;
    if (read(fd, &c, 1) != 1)
        die("read");
}

/* A clock's reading in nanoseconds (die() when the clock cannot be read). */
static long long clock_ns(clockid_t clock) __attribute__((unused));

static long long clock_ns(clockid_t clock)
{
    struct timespec ts;
    if (clock_gettime(clock, &ts) != 0)
        die("clock_gettime");
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static const char *signame(int s) __attribute__((unused));

static const char *signame(int s)
{
    static const char *const names[] = {
        [SIGHUP] = "SIGHUP", [SIGINT] = "SIGINT", [SIGQUIT] = "SIGQUIT",
        [SIGILL] = "SIGILL", [SIGTRAP] = "SIGTRAP", [SIGABRT] = "SIGABRT",
        [SIGBUS] = "SIGBUS", [SIGFPE] = "SIGFPE", [SIGKILL] = "SIGKILL",
        [SIGUSR1] = "SIGUSR1", [SIGSEGV] = "SIGSEGV", [SIGUSR2] = "SIGUSR2",
        [SIGPIPE] = "SIGPIPE", [SIGALRM] = "SIGALRM", [SIGTERM] = "SIGTERM",
        [SIGSTKFLT] = "SIGSTKFLT", [SIGCHLD] = "SIGCHLD", [SIGCONT] = "SIGCONT",
        [SIGSTOP] = "SIGSTOP", [SIGTSTP] = "SIGTSTP", [SIGTTIN] = "SIGTTIN",
        [SIGTTOU] = "SIGTTOU", [SIGURG] = "SIGURG", [SIGXCPU] = "SIGXCPU",
        [SIGXFSZ] = "SIGXFSZ", [SIGVTALRM] = "SIGVTALRM", [SIGPROF] = "SIGPROF",
        [SIGWINCH] = "SIGWINCH", [SIGIO] = "SIGIO", [SIGPWR] = "SIGPWR",
        [SIGSYS] = "SIGSYS",
    };
    static char bufs[4][32];   /* several names may be in one out() call */
    static int k;
    char *b = bufs[k++ % 4];
    if (s > 0 && s < (int)(sizeof names / sizeof names[0]) && names[s])
        return names[s];
    if (s == SIGRTMIN)
        return "SIGRTMIN";
    if (s > SIGRTMIN && s <= SIGRTMAX)
        snprintf(b, 32, "SIGRTMIN+%d", s - SIGRTMIN);
    else
        snprintf(b, 32, "SIG#%d", s);
    return b;
}

/* A wait status as the tests print it: "exited 3", "signaled SIGTERM", ... */
static const char *status(int st) __attribute__((unused));

static const char *status(int st)
{
    static char buf[64];
    if (WIFEXITED(st))
        snprintf(buf, sizeof buf, "exited %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, sizeof buf, "signaled %s", signame(WTERMSIG(st)));
    else if (WIFSTOPPED(st))
        snprintf(buf, sizeof buf, "stopped %s", signame(WSTOPSIG(st)));
    else if (WIFCONTINUED(st))
        snprintf(buf, sizeof buf, "continued");
    else
        snprintf(buf, sizeof buf, "other %#x", st);
    return buf;
}

/* A SIGCHLD siginfo's si_code (sigaction(2)): "CLD_EXITED", ..., "CLD#n" if unknown. */
static const char *cldname(int c) __attribute__((unused));

static const char *cldname(int c)
{
    static char buf[32];
    switch (c) {
    case CLD_EXITED: return "CLD_EXITED";
    case CLD_KILLED: return "CLD_KILLED";
    case CLD_DUMPED: return "CLD_DUMPED";
    case CLD_STOPPED: return "CLD_STOPPED";
    case CLD_CONTINUED: return "CLD_CONTINUED";
    }
    snprintf(buf, sizeof buf, "CLD#%d", c);
    return buf;
}

/* A sent signal's si_code: "SI_USER", "SI_TKILL", "SI_QUEUE", "CODE#n" otherwise. */
static const char *siname(int c) __attribute__((unused));

static const char *siname(int c)
{
    static char buf[32];
    switch (c) {
    case SI_USER: return "SI_USER";
    case SI_TKILL: return "SI_TKILL";
    case SI_QUEUE: return "SI_QUEUE";
    }
    snprintf(buf, sizeof buf, "CODE#%d", c);
    return buf;
}

/* A pipe whose read end is descriptor ``at``, holding the byte ``c``. */
static void pipe_at(int at, char c) __attribute__((unused));

static void pipe_at(int at, char c)
{
    int p[2];
    if (pipe(p))
        die("pipe");
    if (p[0] != at && (dup2(p[0], at) < 0 || close(p[0])))
        die("dup2");
    if (write(p[1], &c, 1) != 1)
        die("write");
    close(p[1]);
}

static const char *errname(int e) __attribute__((unused));

static const char *errname(int e)
{
    static const char *const names[] = {
        [EPERM] = "EPERM", [ENOENT] = "ENOENT", [ESRCH] = "ESRCH", [EINTR] = "EINTR",
        [EIO] = "EIO", [ENXIO] = "ENXIO", [E2BIG] = "E2BIG", [ENOEXEC] = "ENOEXEC",
        [EBADF] = "EBADF", [ECHILD] = "ECHILD", [EAGAIN] = "EAGAIN", [ENOMEM] = "ENOMEM",
        [EACCES] = "EACCES", [EFAULT] = "EFAULT", [EBUSY] = "EBUSY", [EEXIST] = "EEXIST",
        [ENOTDIR] = "ENOTDIR", [EISDIR] = "EISDIR", [EINVAL] = "EINVAL",
        [ENFILE] = "ENFILE", [EMFILE] = "EMFILE", [ENOTTY] = "ENOTTY", [EFBIG] = "EFBIG",
        [ENOSPC] = "ENOSPC", [ESPIPE] = "ESPIPE", [EPIPE] = "EPIPE", [ERANGE] = "ERANGE",
        [ENOSYS] = "ENOSYS", [EOPNOTSUPP] = "EOPNOTSUPP", [ECONNRESET] = "ECONNRESET",
        [ETIMEDOUT] = "ETIMEDOUT",
    };
    static char buf[32];
    if (e > 0 && e < (int)(sizeof names / sizeof names[0]) && names[e])
        return names[e];
    snprintf(buf, sizeof buf, "E#%d", e);
    return buf;
}
#endif
