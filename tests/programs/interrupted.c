/* Blocking calls interrupted by a SIGALRM handler: what each returns to the program
 * (EINTR without SA_RESTART; with it, read(2), wait4(2) and a FUTEX_WAIT without a
 * timeout go on until their event, signal(7)), for comparing with the kernel's own
 * return code as strace shows it (ERESTARTSYS, ERESTARTNOHAND,
 * ERESTART_RESTARTBLOCK, or EINTR itself). */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/select.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include "common.h"

static void on_alarm(int sig) { (void)sig; }

static void handler(int flags)
{
    struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = flags};
    sigaction(SIGALRM, &sa, NULL);
}

static void arm(void)
{
    struct itimerval it = {{0, 0}, {0, 100000}};
    setitimer(ITIMER_REAL, &it, NULL);
}

static void show(const char *what, long r)
{
    int e = errno;
    out("%s = %ld %s\n", what, r, r < 0 ? errname(e) : "");
}

int main(void)
{
    int p[2];
    if (pipe(p))
        die("pipe");
    char b[4];
    struct timespec five = {5, 0};
    uint32_t *word = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (word == MAP_FAILED)
        die("mmap");

    handler(0);
    arm(); show("read", read(p[0], b, 1));
    arm(); show("nanosleep", nanosleep(&five, NULL));
    struct timespec at;
    clock_gettime(CLOCK_MONOTONIC, &at);
    at.tv_sec += 5;
    arm();
    int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL);
    errno = rc; /* its error is its result */
    show("clock_nanosleep absolute", rc ? -1 : 0);
    arm(); show("pause", pause());
    struct pollfd pf = {p[0], POLLIN, 0};
    arm(); show("poll", poll(&pf, 1, 5000));
    arm(); show("poll forever", poll(&pf, 1, -1));
    fd_set r;
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    struct timeval tv = {5, 0};
    arm(); show("select", select(p[0] + 1, &r, NULL, NULL, &tv));
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN};
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    arm(); show("epoll_wait", epoll_wait(ep, &ev, 1, 5000));
    arm(); show("futex", syscall(SYS_futex, word, FUTEX_WAIT, 0, NULL, NULL, 0));
    arm(); show("futex with a timeout", syscall(SYS_futex, word, FUTEX_WAIT, 0, &five, NULL, 0));
    int q = msgget(IPC_PRIVATE, 0600);
    struct { long type; char text[8]; } msg;
    arm(); show("msgrcv", msgrcv(q, &msg, sizeof msg.text, 0, 0));
    msgctl(q, IPC_RMID, NULL);
    int s = semget(IPC_PRIVATE, 1, 0600);
    struct sembuf down = {0, -1, 0};
    arm(); show("semop", semop(s, &down, 1));
    semctl(s, 0, IPC_RMID);
    pid_t child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    arm(); show("wait4", wait4(child, NULL, 0, NULL));
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);

    handler(SA_RESTART);
    child = fork();
    if (child == 0) {
        /* at 0.3, 0.55 and 0.8 s: between the parent's alarms (0.1, 0.4, 0.65 s) */
        usleep(300000);
        if (write(p[1], "x", 1) != 1)
            _exit(1);
        usleep(250000);
        *word = 1;
        syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
        usleep(250000);
        _exit(0);
    }
    arm(); show("read, SA_RESTART", read(p[0], b, 1));
    arm(); show("futex, SA_RESTART", syscall(SYS_futex, word, FUTEX_WAIT, 0, NULL, NULL, 0));
    arm(); show("wait4, SA_RESTART", wait4(child, NULL, 0, NULL) == child);
    arm(); show("nanosleep, SA_RESTART", nanosleep(&five, NULL));
    return 0;
}
