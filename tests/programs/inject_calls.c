/* Calls for fault-injection tests; each mode prints what its calls returned.
 *   writes      three write(2)s to a file, then "w1 w2 w3" as "1" or "-1 ERRNO"
 *   forks       fork(2) itself (SYS_fork), then glibc's fork() (a clone(2))
 *   socket      socket(AF_INET, SOCK_STREAM, 0)
 *   delay       CLOCK_MONOTONIC milliseconds around one read(2) of /dev/null
 *   pattern N   N getppid(2)s: '.' for the real answer, 'x' for another
 *   signal      two getpid(2)s, with a SIGUSR1 handler counting what arrives */
#include "common.h"
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>

static volatile sig_atomic_t usr1;

static void on_usr1(int sig)
{
    (void)sig;
    usr1++;
}

static void result(const char *name, long rc)
{
    if (rc < 0)
        out("%s=-1 %s\n", name, errname(errno));
    else
        out("%s=%ld\n", name, rc);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    const char *mode = argv[1];
    if (!strcmp(mode, "writes")) {
        int fd = open("inject.out", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0)
            die("open");
        long rc[3];
        int err[3];
        for (int i = 0; i < 3; i++) {
            rc[i] = write(fd, "x", 1);
            err[i] = errno;
        }
        for (int i = 0; i < 3; i++) {
            errno = err[i];
            char name[8];
            snprintf(name, sizeof name, "w%d", i + 1);
            result(name, rc[i]);
        }
    } else if (!strcmp(mode, "forks")) {
        long rc = syscall(SYS_fork);
        if (rc == 0)
            _exit(0);
        if (rc > 0)
            waitpid((pid_t)rc, NULL, 0);
        result("sys_fork", rc < 0 ? -1 : 0);
        pid_t child = fork();
        if (child == 0)
            _exit(0);
        if (child > 0)
            waitpid(child, NULL, 0);
        result("glibc_fork", child < 0 ? -1 : 0);
    } else if (!strcmp(mode, "socket")) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        result("socket", s < 0 ? -1 : 0);
    } else if (!strcmp(mode, "delay")) {
        struct timespec a, b;
        char c;
        int fd = open("/dev/null", O_RDONLY);
        clock_gettime(CLOCK_MONOTONIC, &a);
        long rc = read(fd, &c, 1);
        clock_gettime(CLOCK_MONOTONIC, &b);
        result("read", rc);
        out("elapsed_ms=%ld\n", (long)((b.tv_sec - a.tv_sec) * 1000
                                         + (b.tv_nsec - a.tv_nsec) / 1000000));
    } else if (!strcmp(mode, "pattern") && argc > 2) {
        int n = atoi(argv[2]);
        pid_t real = getppid();
        char buf[256];
        for (int i = 0; i < n && i < 255; i++)
            buf[i] = (pid_t)syscall(SYS_getppid) == real ? '.' : 'x';
        buf[n < 255 ? n : 255] = 0;
        out("%s\n", buf);
    } else if (!strcmp(mode, "signal")) {
        struct sigaction sa = {.sa_handler = on_usr1};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGUSR1, &sa, NULL);
        syscall(SYS_getpid);
        int after_first = usr1;
        syscall(SYS_getpid);
        out("after_first=%d after_second=%d\n", after_first, (int)usr1);
    } else {
        return 2;
    }
    return 0;
}
