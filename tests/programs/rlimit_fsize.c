/* rlimit_fsize DIR: RLIMIT_FSIZE (setrlimit(2), write(2), signal(7)).
 *
 * With a soft limit of 100 bytes, every call that would make a file in DIR larger:
 * write, pwrite, writev and an O_APPEND write first write up to the limit (a partial
 * count), then fail with EFBIG; truncate, ftruncate and fallocate beyond it fail with
 * EFBIG. Each failure also sends SIGXFSZ: ignored here (the call's EFBIG only), caught
 * by a handler (si_code SI_USER from the process itself), blocked (it stays pending,
 * and sigtimedwait takes it),
 * and at its default action in a child (killed by SIGXFSZ). A limit set by prlimit on a
 * child holds there, and a child inherits its parent's limit through fork and exec.
 *
 * The program's own stdout may be a file (a host's is): results are kept in memory while
 * the soft limit is low and printed once it is back at the hard limit.
 * Exit status 0; 100+ when a step could not run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

#define LIMIT 100

static char log_buf[4096];
static size_t log_len;
static volatile sig_atomic_t caught, caught_code, caught_pid_is_self;

static void note(const char *label, long r)
{
    int n = r < 0 ? snprintf(log_buf + log_len, sizeof log_buf - log_len, "%s -1 %s\n",
                             label, errname(errno))
                  : snprintf(log_buf + log_len, sizeof log_buf - log_len, "%s %ld\n",
                             label, r);
    log_len += (size_t)n;
}

static void set_soft(rlim_t soft)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_FSIZE, &rl) != 0)
        die("getrlimit");
    rl.rlim_cur = soft == RLIM_INFINITY ? rl.rlim_max : soft;
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        die("setrlimit");
}

static void on_xfsz(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)uc;
    caught++;
    caught_code = si->si_code;
    caught_pid_is_self = si->si_pid == getpid();
}

static long file_size(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 ? (long)st.st_size : -1;
}

static char data[256];

/* A child that writes 150 bytes with the limit it has and exits with the count. */
static int child_write(const char *path)
{
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    if (fd < 0)
        _exit(101);
    long n = write(fd, data, 150);
    _exit(n < 0 ? 99 : (int)n);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "child") == 0) {  /* exec'd: the limit is kept */
        signal(SIGXFSZ, SIG_IGN);
        child_write(argv[2]);
    }
    if (argc != 2)
        return 100;
    char path[4096], other[4096];
    snprintf(path, sizeof path, "%s/fsize.dat", argv[1]);
    snprintf(other, sizeof other, "%s/fsize.child", argv[1]);
    memset(data, 'x', sizeof data);
    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
    if (fd < 0)
        die("open");

    signal(SIGXFSZ, SIG_IGN);
    set_soft(LIMIT);
    struct rlimit rl;
    getrlimit(RLIMIT_FSIZE, &rl);
    note("getrlimit_soft", (long)rl.rlim_cur);
    note("write_60", write(fd, data, 60));
    note("write_60_partial", write(fd, data, 60));
    note("write_at_limit", write(fd, data, 1));
    note("size", file_size(fd));
    note("pwrite_90_20", pwrite(fd, data, 20, 90));
    note("pwrite_at_100", pwrite(fd, data, 1, 100));
    note("pwrite_far", pwrite(fd, data, 1, 1 << 20));
    struct iovec iov[2] = {{data, 30}, {data, 30}};
    lseek(fd, 80, SEEK_SET);
    note("writev_80_60", writev(fd, iov, 2));
    note("ftruncate_101", ftruncate(fd, LIMIT + 1));
    note("ftruncate_100", ftruncate(fd, LIMIT));
    note("ftruncate_50", ftruncate(fd, 50));
    note("truncate_200", truncate(path, 200));
    note("fallocate_200", fallocate(fd, 0, 0, 200));
    note("fallocate_keep_size", fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 200));
    int afd = open(path, O_WRONLY | O_APPEND);
    note("append_60", write(afd, data, 60));
    note("append_more", write(afd, data, 1));
    close(afd);
    note("size", file_size(fd));

    /* caught */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_xfsz;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGXFSZ, &sa, NULL);
    note("handled_write", pwrite(fd, data, 1, LIMIT));
    note("handled_count", caught);
    note("handled_si_code_is_user", caught_code == SI_USER);
    note("handled_si_pid_is_self", caught_pid_is_self);
    note("handled_truncate", ftruncate(fd, 2 * LIMIT));
    note("handled_count", caught);

    /* blocked: pending until unblocked, then handled */
    sigset_t set, pending;
    sigemptyset(&set);
    sigaddset(&set, SIGXFSZ);
    sigprocmask(SIG_BLOCK, &set, NULL);
    note("blocked_write", pwrite(fd, data, 1, LIMIT));
    sigpending(&pending);
    note("blocked_pending", sigismember(&pending, SIGXFSZ));
    siginfo_t si;
    struct timespec zero = {0, 0};
    note("sigtimedwait", sigtimedwait(&set, &si, &zero));
    note("sigtimedwait_from_self", si.si_code == SI_USER && si.si_pid == getpid());
    note("blocked_write_again", pwrite(fd, data, 1, LIMIT));
    note("blocked_count", caught);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    note("unblocked_count", caught);

    /* default action: the child dies of SIGXFSZ after writing up to the limit */
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        signal(SIGXFSZ, SIG_DFL);
        struct rlimit core = {0, 0};
        setrlimit(RLIMIT_CORE, &core);
        lseek(fd, 0, SEEK_SET);
        ftruncate(fd, 0);
        write(fd, data, 150);      /* partial: 100 */
        write(fd, data, 1);        /* SIGXFSZ */
        _exit(3);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid)
        die("waitpid");
    note(WIFSIGNALED(st) && WTERMSIG(st) == SIGXFSZ ? "default_killed_by_sigxfsz"
                                                     : "default_other", 1);
    note("default_size", file_size(fd));

    /* prlimit on a child waiting on a pipe */
    int go[2];
    if (pipe(go) != 0)
        die("pipe");
    pid = fork();
    if (pid == 0) {
        char c;
        close(go[1]);
        signal(SIGXFSZ, SIG_IGN);
        if (read(go[0], &c, 1) != 1)
            _exit(102);
        child_write(other);
    }
    close(go[0]);
    struct rlimit ten = {10, rl.rlim_max};
    note("prlimit_child", prlimit(pid, RLIMIT_FSIZE, &ten, NULL));
    write(go[1], "g", 1);
    waitpid(pid, &st, 0);
    note("prlimit_child_wrote", WIFEXITED(st) ? WEXITSTATUS(st) : -1000);

    /* fork + exec inherit the limit (100 here) */
    pid = fork();
    if (pid == 0) {
        execl("/proc/self/exe", argv[0], "child", other, (char *)NULL);
        _exit(104);
    }
    waitpid(pid, &st, 0);
    note("exec_child_wrote", WIFEXITED(st) ? WEXITSTATUS(st) : -1000);

    set_soft(RLIM_INFINITY);
    note("after_raise_write", pwrite(fd, data, 50, LIMIT));
    if (write(1, log_buf, log_len) != (ssize_t)log_len)
        return 102;
    out("done\n");
    return 0;
}
