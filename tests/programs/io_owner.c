/* io_owner: the owner of a socket's signal-driven I/O (fcntl(2) F_SETOWN, F_SETOWN_EX,
 * ioctl FIOSETOWN) set and read back by pid, and the signals the kernel sends it: SIGIO
 * (si_code SI_KERNEL) and, after F_SETSIG, a real-time signal with POLL_IN and si_fd.
 *   io_owner          one line per check; exit status 0
 *   io_owner group    F_SETOWN with -getpgrp() (a process group owner)
 *   io_owner default  SIGIO at its default action: the process is killed by it
 *   io_owner suspend  SIGIO blocked, then sigsuspend until a child's write brings it;
 *                     getppid() before and after must agree (the host's, both)
 *   io_owner sigwait  F_SETSIG(SIGUSR1) blocked, then sigtimedwait(5 s) until a
 *                     child's write brings it (the kernel holds it pending)
 *   io_owner dnotify  F_NOTIFY(DN_CREATE) on a directory: the signal of a file the
 *                     program creates there runs its handler before its next
 *                     instruction (looked at with no system call between) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t got_sig, got_code, got_fd;

static void on_signal(int sig, siginfo_t *info, void *uc)
{
    (void)uc;
    got_sig = sig;
    got_code = info->si_code;
    got_fd = info->si_fd;
}

static void trigger(int fds[2])
{
    char c;
    got_sig = 0;
    write(fds[1], "x", 1);
    for (int i = 0; i < 100 && !got_sig; i++)
        usleep(1000);
    read(fds[0], &c, 1);
}

int main(int argc, char **argv)
{
    int sv[2];
    setvbuf(stdout, NULL, _IONBF, 0);
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
        return 1;
    if (argc > 1 && !strcmp(argv[1], "group")) {
        int rc = fcntl(sv[0], F_SETOWN, -getpgrp());
        printf("F_SETOWN(-pgrp) = %d\n", rc);
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "suspend")) {
        struct sigaction sa;
        sigset_t block, none;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_signal;
        sa.sa_flags = SA_SIGINFO;
        sigaction(SIGIO, &sa, NULL);
        sigemptyset(&block);
        sigaddset(&block, SIGIO);
        sigprocmask(SIG_BLOCK, &block, NULL);
        fcntl(sv[0], F_SETOWN, getpid());
        fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_ASYNC);
        if (fork() == 0) {
            usleep(10000);
            write(sv[1], "x", 1);
            _exit(0);
        }
        pid_t ppid = getppid();
        sigemptyset(&none);
        int rc = sigsuspend(&none);
        printf("sigsuspend = %d, woken by SIGIO: %d\n", rc, got_sig == SIGIO);
        printf("getppid() after it unchanged: %d\n", getppid() == ppid);
        wait(NULL);
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "dnotify")) {
        char dir[] = "/tmp/simproc-dnotify-XXXXXX", file[64];
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_signal;
        sa.sa_flags = SA_SIGINFO;
        sigaction(SIGRTMIN + 1, &sa, NULL);
        if (!mkdtemp(dir))
            return 1;
        int dfd = open(dir, O_RDONLY | O_DIRECTORY);
        fcntl(dfd, F_SETSIG, SIGRTMIN + 1);
        fcntl(dfd, F_NOTIFY, DN_CREATE | DN_MULTISHOT);
        snprintf(file, sizeof file, "%s/new", dir);
        got_sig = 0;
        int fd = open(file, O_CREAT | O_WRONLY, 0600);
        int seen = got_sig == SIGRTMIN + 1, fd_named = got_fd == dfd;
        printf("a file made: the handler ran at once: %d, si_fd the directory: %d\n", seen,
               fd_named);
        close(fd);
        unlink(file);
        close(dfd);
        rmdir(dir);
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "sigwait")) {
        sigset_t wanted;
        sigemptyset(&wanted);
        sigaddset(&wanted, SIGUSR1);
        sigprocmask(SIG_BLOCK, &wanted, NULL);
        fcntl(sv[0], F_SETOWN, getpid());
        fcntl(sv[0], F_SETSIG, SIGUSR1);
        fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_ASYNC);
        if (fork() == 0) {
            usleep(10000);
            write(sv[1], "x", 1);
            _exit(0);
        }
        siginfo_t info;
        struct timespec five = {5, 0};
        int sig = sigtimedwait(&wanted, &info, &five);
        printf("sigtimedwait = SIGUSR1: %d, si_code POLL_IN: %d\n", sig == SIGUSR1,
               info.si_code == POLL_IN);
        wait(NULL);
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "default")) {
        fcntl(sv[0], F_SETOWN, getpid());
        fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_ASYNC);
        write(sv[1], "x", 1);
        for (;;)
            pause();
    }
    int rc = fcntl(sv[0], F_SETOWN, getpid());
    printf("F_SETOWN(getpid()) = %d, F_GETOWN is getpid(): %d\n", rc,
           fcntl(sv[0], F_GETOWN) == getpid());
    struct f_owner_ex owner = {F_OWNER_TID, gettid()};
    rc = fcntl(sv[0], F_SETOWN_EX, &owner);
    memset(&owner, 0, sizeof owner);
    fcntl(sv[0], F_GETOWN_EX, &owner);
    printf("F_SETOWN_EX(TID, gettid()) = %d, F_GETOWN_EX: TID %d, is gettid(): %d\n", rc,
           owner.type == F_OWNER_TID, owner.pid == gettid());
    int pid = getpid(), back = 0;
    rc = ioctl(sv[0], FIOSETOWN, &pid);
    ioctl(sv[0], FIOGETOWN, &back);
    printf("FIOSETOWN(getpid()) = %d, FIOGETOWN is getpid(): %d\n", rc, back == getpid());

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGIO, &sa, NULL);
    sigaction(SIGRTMIN, &sa, NULL);
    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_ASYNC);
    trigger(sv);
    printf("O_ASYNC write: SIGIO %d, si_code SI_KERNEL %d\n", got_sig == SIGIO,
           got_code == SI_KERNEL);
    fcntl(sv[0], F_SETSIG, SIGRTMIN);
    trigger(sv);
    printf("F_SETSIG(SIGRTMIN): SIGRTMIN %d, si_code POLL_IN %d, si_fd %d\n",
           got_sig == SIGRTMIN, got_code == POLL_IN, got_fd == sv[0]);

    pid_t child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    rc = fcntl(sv[1], F_SETOWN, child);
    printf("F_SETOWN(child) = %d, F_GETOWN is child: %d\n", rc, fcntl(sv[1], F_GETOWN) == child);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    return 0;
}
