/* Waits on message queues and semaphores: mq_timedreceive(2) until an absolute time
 * of the program's own CLOCK_REALTIME (ETIMEDOUT), until a child sends (the message),
 * and until a handler without SA_RESTART runs (EINTR); mq_notify(3)'s signal when a
 * child sends (SI_MESGQ, the sender's pid); msgrcv(2) until a child sends (and msgctl(2)'s
 * record of who sent and received it, and when),
 * and until the queue is removed (EIDRM); semop(2) until a child adds to the
 * semaphore, until a handler runs (EINTR, SA_RESTART or not) and until the set is
 * removed (EIDRM); semtimedop(2) until its timeout (EAGAIN); semctl(2) GETNCNT and
 * GETZCNT while children wait on the set, and after. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <mqueue.h>
#include <stdlib.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include "common.h"

static void on_usr1(int sig) { (void)sig; }

struct msg { long type; char text[16]; };

int main(void)
{
    char name[64], buf[64];
    snprintf(name, sizeof name, "/simproc_msgwait_%d", getpid());
    struct mq_attr attr = {.mq_maxmsg = 4, .mq_msgsize = 16};
    mqd_t q = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
    if (q < 0)
        die("mq_open");
    mq_unlink(name);
    struct timespec t0, t1, abs;
    clock_gettime(CLOCK_REALTIME, &abs);
    abs.tv_sec += 2;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long r = mq_timedreceive(q, buf, sizeof buf, NULL, &abs);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    out("mq_timedreceive(empty, 2 s) = %ld %s after >= 2 s: %d\n", r, errname(errno),
        t1.tv_sec - t0.tv_sec >= 2 || (t1.tv_sec - t0.tv_sec == 1 && t1.tv_nsec >= t0.tv_nsec));

    pid_t child = fork();
    if (child == 0) {
        usleep(100000);
        mq_send(q, "hello", 5, 3);
        _exit(0);
    }
    clock_gettime(CLOCK_REALTIME, &abs);
    abs.tv_sec += 10;
    unsigned prio = 0;
    r = mq_timedreceive(q, buf, sizeof buf, &prio, &abs);
    out("mq_timedreceive(sent by a child) = %ld '%.*s' prio %u\n", r, (int)(r > 0 ? r : 0), buf, prio);
    waitpid(child, NULL, 0);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    pid_t me = getpid();
    child = fork();
    if (child == 0) {
        usleep(100000);
        kill(me, SIGUSR1);
        _exit(0);
    }
    r = mq_timedreceive(q, buf, sizeof buf, NULL, &abs);
    out("mq_timedreceive(a handler runs) = %ld %s\n", r, errname(errno));
    waitpid(child, NULL, 0);

    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    sigprocmask(SIG_BLOCK, &usr2, NULL);
    struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR2,
                          .sigev_value.sival_int = 42};
    if (mq_notify(q, &ev))
        die("mq_notify");
    child = fork();
    if (child == 0) {
        usleep(100000);
        mq_send(q, "note", 4, 0);
        _exit(0);
    }
    siginfo_t si;
    int sig = sigwaitinfo(&usr2, &si);
    out("mq_notify: %s code SI_MESGQ %d, from the sender %d, value %d\n", signame(sig),
        si.si_code == SI_MESGQ, si.si_pid == child, si.si_value.sival_int);
    waitpid(child, NULL, 0);

    int id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    if (id < 0)
        die("msgget");
    child = fork();
    if (child == 0) {
        struct msg m = {.type = 2, .text = "queued"};
        usleep(100000);
        msgsnd(id, &m, sizeof m.text, 0);
        _exit(0);
    }
    struct msg got;
    r = msgrcv(id, &got, sizeof got.text, 2, 0);
    time_t after = time(NULL);
    out("msgrcv(sent by a child) = %ld '%s'\n", r, r > 0 ? got.text : "");
    waitpid(child, NULL, 0);
    struct msqid_ds ds;
    if (msgctl(id, IPC_STAT, &ds))
        die("msgctl");
    out("IPC_STAT: last sender the child %d, last receiver me %d, times now %d %d\n",
        ds.msg_lspid == child, ds.msg_lrpid == getpid(),
        ds.msg_stime >= after - 1 && ds.msg_stime <= after,
        ds.msg_rtime >= after - 1 && ds.msg_rtime <= after);
    child = fork();
    if (child == 0) {
        usleep(100000);
        msgctl(id, IPC_RMID, NULL);
        _exit(0);
    }
    r = msgrcv(id, &got, sizeof got.text, 0, 0);
    out("msgrcv(queue removed) = %ld %s\n", r, errname(errno));
    waitpid(child, NULL, 0);

    int sem = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
    if (sem < 0)
        die("semget");
    struct sembuf down = {.sem_num = 1, .sem_op = -1};
    child = fork();
    if (child == 0) {
        struct sembuf up = {.sem_num = 1, .sem_op = 1};
        usleep(100000);
        semop(sem, &up, 1);
        _exit(0);
    }
    r = semop(sem, &down, 1);
    out("semop(-1, a child adds 1) = %ld, value %d\n", r, semctl(sem, 1, GETVAL));
    waitpid(child, NULL, 0);

    /* semctl(2) GETNCNT, GETZCNT: who waits for which semaphore, counted on the one whose
     * operation it waits for (here the second of {+1, wait for 0} on semaphore 0) */
    pid_t down_child = fork();
    if (down_child == 0) {
        semop(sem, &down, 1);
        _exit(0);
    }
    pid_t zero_child = fork();
    if (zero_child == 0) {
        struct sembuf up_then_zero[2] = {{.sem_num = 0, .sem_op = 1}, {.sem_num = 0}};
        semop(sem, up_then_zero, 2);
        _exit(0);
    }
    usleep(200000);
    out("waiting: GETNCNT 1 %d, GETZCNT 0 %d, GETNCNT 0 %d, GETZCNT 1 %d\n",
        semctl(sem, 1, GETNCNT), semctl(sem, 0, GETZCNT), semctl(sem, 0, GETNCNT),
        semctl(sem, 1, GETZCNT));
    kill(zero_child, SIGKILL);
    waitpid(zero_child, NULL, 0);
    if (semctl(sem, 1, SETVAL, 1))
        die("SETVAL");
    waitpid(down_child, NULL, 0);
    out("after the waits: GETNCNT 1 %d, GETZCNT 0 %d\n", semctl(sem, 1, GETNCNT),
        semctl(sem, 0, GETZCNT));
    struct timespec wait = {1, 500000000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    r = semtimedop(sem, &down, 1, &wait);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    out("semtimedop(-1, 1.5 s) = %ld %s after >= 1.5 s: %d\n", r, errname(errno), ms >= 1500);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    child = fork();
    if (child == 0) {
        usleep(100000);
        kill(me, SIGUSR1);
        _exit(0);
    }
    r = semop(sem, &down, 1);
    out("semop(-1, an SA_RESTART handler runs) = %ld %s\n", r, errname(errno));
    waitpid(child, NULL, 0);
    child = fork();
    if (child == 0) {
        usleep(100000);
        semctl(sem, 0, IPC_RMID);
        _exit(0);
    }
    r = semop(sem, &down, 1);
    out("semop(set removed) = %ld %s\n", r, errname(errno));
    waitpid(child, NULL, 0);
    return 0;
}
