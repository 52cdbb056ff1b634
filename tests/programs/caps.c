/* caps: capget(2)/capset(2) with pids. A child drops CAP_KILL from its effective set;
 * the parent then reads the child's sets by pid, its own by 0 and by its pid, sets its
 * own by pid, and tries the child's. In a host the pids are virtual: each must name
 * the same process as natively. One line per check; exit status 0. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static long capget_(pid_t pid, struct __user_cap_data_struct data[2])
{
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, pid};
    return syscall(SYS_capget, &header, data);
}

static long capset_(pid_t pid, struct __user_cap_data_struct data[2])
{
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, pid};
    return syscall(SYS_capset, &header, data);
}

static const char *result(long rc)
{
    return rc == 0 ? "0" : errno == EPERM ? "-1 EPERM" : errno == ESRCH ? "-1 ESRCH" : "-1 other";
}

int main(void)
{
    struct __user_cap_data_struct mine[2], other[2];
    int ready[2];
    setvbuf(stdout, NULL, _IONBF, 0);
    if (capget_(0, mine) || pipe(ready))
        return 1;
    pid_t child = fork();
    if (child == 0) {
        struct __user_cap_data_struct data[2];
        capget_(0, data);
        data[0].effective &= ~(1u << CAP_KILL);
        capset_(0, data);
        write(ready[1], "x", 1);
        pause();
        _exit(0);
    }
    char c;
    read(ready[0], &c, 1);
    capget_(child, other);
    printf("capget(child): effective is mine without CAP_KILL: %s\n",
           other[0].effective == (mine[0].effective & ~(1u << CAP_KILL)) &&
           other[1].effective == mine[1].effective ? "yes" : "no");
    capget_(getpid(), other);
    printf("capget(getpid()) == capget(0): %s\n", memcmp(other, mine, sizeof mine) ? "no" : "yes");
    printf("capset(getpid()) = %s\n", result(capset_(getpid(), mine)));
    printf("capset(child) = %s\n", result(capset_(child, mine)));
    struct __user_cap_header_struct probe = {0x12345678, 0};
    long rc = syscall(SYS_capget, &probe, NULL);
    printf("capget(bad version, NULL) = %ld, version %#x\n", rc, probe.version);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    printf("capget(reaped child) = %s\n", result(capget_(child, other)));
    return 0;
}
