/* privs: the no_new_privs bit and the seccomp filters it allows (prctl(2),
 * seccomp(2)).
 *
 * Run as root by a process without no_new_privs. Prints the bit as PR_GET_NO_NEW_PRIVS
 * and /proc/self/status give it, drops CAP_SYS_ADMIN from its effective set, then:
 * the kernel's EINVAL for bad arguments, a filter refused (EACCES) through prctl and
 * seccomp(2) once the struct is read (a bad address is EFAULT first, a length of 0
 * EINVAL), PR_SET_NO_NEW_PRIVS, the bit in a forked child and after execve, and the
 * filter (one that allows everything) accepted. Exit status 0. */
#define _GNU_SOURCE
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include "common.h"

static void show(const char *label, long r)
{
    if (r == -1)
        out("%s -1 %s\n", label, errname(errno));
    else
        out("%s %ld\n", label, r);
}

static void status_line(const char *who)
{
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        die("status");
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "NoNewPrivs:", 11))
            out("%s status %s", who, line);
    fclose(f);
}

static void drop_sys_admin(void)
{
    struct __user_cap_header_struct head = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &head, data) != 0)
        die("capget");
    data[0].effective &= ~(1u << CAP_SYS_ADMIN);
    if (syscall(SYS_capset, &head, data) != 0)
        die("capset");
}

int main(int argc, char **argv)
{
    if (argc > 1) {     /* after execve */
        show("exec get", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
        status_line("exec");
        return 0;
    }
    struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog prog = {1, &allow}, empty = {0, &allow};

    show("get", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    status_line("start");
    drop_sys_admin();
    show("get arg", prctl(PR_GET_NO_NEW_PRIVS, 1, 0, 0, 0));
    show("set 0", prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0));
    show("set arg3", prctl(PR_SET_NO_NEW_PRIVS, 1, 1, 0, 0));
    show("prctl filter bad address", prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, 8, 0, 0));
    show("prctl filter empty", prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &empty, 0, 0));
    show("prctl filter", prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0));
    show("seccomp bad flags", syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 1u << 30, &prog));
    show("seccomp filter", syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog));
    show("set", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
    show("get", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    status_line("set");
    pid_t child = fork();
    if (child == 0) {
        show("child get", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
        execl("/proc/self/exe", argv[0], "exec", (char *)NULL);
        die("execl");
    }
    int st;
    waitpid(child, &st, 0);
    out("child %s\n", status(st));
    show("prctl filter", prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0));
    show("seccomp filter", syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog));
    return 0;
}
