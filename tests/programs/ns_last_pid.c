/* ns_last_pid: /proc/sys/kernel/ns_last_pid (pid_namespaces(7)), as root: it reads the
 * last pid handed out; written with a reaped child's pid - 1, the next fork gets that
 * pid again. A descriptor of the first child's /proc/<pid> directory then names no
 * process: pidfd_send_signal through it fails with ESRCH, though the pid is taken
 * again. Writes of no number (EINVAL) and of one past pid_max (EINVAL) are refused,
 * and so is any write by a thread without CAP_SYS_ADMIN and CAP_CHECKPOINT_RESTORE
 * (EPERM): root, with those two capabilities dropped from its effective set. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include "common.h"

static long last_pid(void)
{
    char buf[32] = {0};
    int fd = open("/proc/sys/kernel/ns_last_pid", O_RDONLY);
    if (fd < 0 || read(fd, buf, sizeof buf - 1) <= 0)
        die("read ns_last_pid");
    close(fd);
    return atol(buf);
}

static long write_last_pid(const char *text)
{
    int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY);
    if (fd < 0)
        die("open ns_last_pid");
    long r = write(fd, text, strlen(text));
    int e = errno;
    close(fd);
    errno = e;
    return r;
}

static pid_t child(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        pause();
        _exit(0);
    }
    return pid;
}

static void end(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

int main(void)
{
    pid_t first = child();
    out("last pid is the child's: %d\n", last_pid() == first);
    char path[64], text[32];
    snprintf(path, sizeof path, "/proc/%d", first);
    int dir = open(path, O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        die("open /proc/<pid>");
    end(first);
    snprintf(text, sizeof text, "%d\n", first - 1);
    long r = write_last_pid(text);
    out("write %d: %s\n", first - 1, r == (long)strlen(text) ? "whole" : errname(errno));
    pid_t again = child();
    out("next fork gets the same pid: %d\n", again == first);
    r = syscall(SYS_pidfd_send_signal, dir, SIGUSR1, NULL, 0);
    out("signal through the old directory: %ld %s\n", r, r < 0 ? errname(errno) : "");
    end(again);
    r = write_last_pid("x\n");
    out("write x: %ld %s\n", r, r < 0 ? errname(errno) : "");
    r = write_last_pid("99999999\n");
    out("write 99999999: %ld %s\n", r, r < 0 ? errname(errno) : "");
    struct __user_cap_header_struct head = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct caps[2];
    if (syscall(SYS_capget, &head, caps) < 0)
        die("capget");
    caps[CAP_SYS_ADMIN / 32].effective &= ~(1u << (CAP_SYS_ADMIN % 32));
    caps[40 / 32].effective &= ~(1u << (40 % 32));  /* CAP_CHECKPOINT_RESTORE */
    if (syscall(SYS_capset, &head, caps) < 0)
        die("capset");
    r = write_last_pid(text);
    out("write without CAP_SYS_ADMIN: %ld %s\n", r, r < 0 ? errname(errno) : "");
    return 0;
}
