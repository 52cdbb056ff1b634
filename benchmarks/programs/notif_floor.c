/* The floor of a seccomp user-notification supervisor: read(2) and write(2) of the
 * program and its descendants are notified (SECCOMP_RET_USER_NOTIF) and each is let run
 * at once (SECCOMP_USER_NOTIF_FLAG_CONTINUE); nothing else is done. Pinned to one CPU
 * with its tracees, as ptrace_floor.c (benchmarks/README.md, "The floor column").
 *
 *     notif_floor PROGRAM [ARGS...] */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    cpu_set_t set;
    if (argc < 2) {
        fprintf(stderr, "usage: notif_floor PROGRAM [ARGS...]\n");
        return 2;
    }
    CPU_ZERO(&set);
    CPU_SET(sched_getcpu(), &set);
    sched_setaffinity(0, sizeof set, &set);
    pid_t child = fork();
    if (child == 0) {
        struct sock_filter prog[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
            BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 2, 1, 0),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog fp = {sizeof prog / sizeof prog[0], prog};
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        int fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &fp);
        if (fd < 0) { perror("seccomp"); _exit(126); }
        dup2(fd, 100);
        raise(SIGSTOP);
        close(100);
        close(fd);
        execvp(argv[1], argv + 1);
        _exit(127);
    }
    int st;
    waitpid(child, &st, WUNTRACED);
    int pidfd = syscall(SYS_pidfd_open, child, 0);
    int listener = syscall(SYS_pidfd_getfd, pidfd, 100, 0);
    if (listener < 0) { perror("pidfd_getfd"); return 125; }
    kill(child, SIGCONT);
    struct seccomp_notif_sizes sizes;
    syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes);
    struct seccomp_notif *req = calloc(1, sizes.seccomp_notif);
    struct seccomp_notif_resp *resp = calloc(1, sizes.seccomp_notif_resp);
    long n = 0;
    for (;;) {
        struct pollfd p = {listener, POLLIN, 0};
        if (poll(&p, 1, -1) < 0 && errno != EINTR) break;
        if (!(p.revents & POLLIN)) break;   /* POLLHUP: no process left */
        memset(req, 0, sizes.seccomp_notif);
        if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) < 0) continue;
        resp->id = req->id;
        resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        resp->error = 0;
        resp->val = 0;
        ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp);
        n++;
    }
    waitpid(child, &st, 0);
    fprintf(stderr, "notified %ld\n", n);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}
