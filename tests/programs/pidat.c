/* pidat N SECONDS: start `sleep SECONDS` as a native process with pid N in its own
 * session (clone3(2) with set_tid: needs CAP_SYS_ADMIN), print N and exit. The sleeper
 * stands where a host's virtual pid N would be taken for a machine process: whoever
 * started it kills it. The sleeper holds /dev/null, not its starter's stdio. Prints "EEXIST" or "EPERM" (status 2) when the pid cannot be had. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 3)
        return 1;
    pid_t want = (pid_t)atoi(argv[1]);
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.exit_signal = SIGCHLD;
    args.set_tid = (uintptr_t)&want;
    args.set_tid_size = 1;
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid < 0) {
        printf("%s\n", errno == EEXIST ? "EEXIST" : errno == EPERM ? "EPERM" : strerror(errno));
        return 2;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        setsid();
        execl("/bin/sleep", "sleep", argv[2], (char *)NULL);
        _exit(127);
    }
    printf("%ld\n", pid);
    return 0;
}
