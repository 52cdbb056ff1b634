/* What System V IPC objects record of who touched them last, and when: a semaphore's
 * sempid (semctl(2) GETPID) after a child's semop(2) and after SETVAL/SETALL, the
 * set's sem_otime and sem_ctime (IPC_STAT, and SEM_STAT by index as ipcs(1) reads
 * them); a shared memory segment's shm_cpid, shm_lpid, shm_atime, shm_dtime and
 * shm_ctime (shmctl(2) IPC_STAT) after a child attaches and detaches; a message
 * queue's msg_ctime (msgctl(2)) at creation and after IPC_SET. Each is printed as a
 * relation to the program's own getpid()/fork() and time(2), so that it holds
 * natively and in a simulated host alike. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include "common.h"

union semun { int val; struct semid_ds *buf; unsigned short *array; struct seminfo *__buf; };

/* A stamp made between ``before`` and ``after`` (time(2) seconds). */
static int within(time_t stamp, time_t before, time_t after)
{
    return stamp >= before && stamp <= after;
}

/* The set's IPC_STAT, and the same through SEM_STAT by the index that names it. */
static void sem_stat(int sem, struct semid_ds *ds, struct semid_ds *by_index)
{
    union semun arg = {.buf = ds};
    if (semctl(sem, 0, IPC_STAT, arg))
        die("semctl IPC_STAT");
    struct seminfo info;
    arg.__buf = &info;
    int last = semctl(0, 0, SEM_INFO, arg);
    memset(by_index, 0, sizeof *by_index);
    for (int i = 0; i <= last; i++) {
        arg.buf = by_index;
        if (semctl(i, 0, SEM_STAT, arg) == sem)
            return;
    }
    die("SEM_STAT");
}

int main(void)
{
    pid_t me = getpid();
    time_t t0 = time(NULL);
    int sem = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
    if (sem < 0)
        die("semget");
    time_t t1 = time(NULL);
    struct semid_ds ds, by_index;
    sem_stat(sem, &ds, &by_index);
    out("sem created: ctime now %d, otime 0 %d, GETPID 0 %d\n", within(ds.sem_ctime, t0, t1),
        ds.sem_otime == 0, semctl(sem, 1, GETPID) == 0);

    int done[2];
    if (pipe(done))
        die("pipe");
    sleep(1);
    t0 = time(NULL);
    pid_t child = fork();
    if (child == 0) {
        struct sembuf up = {.sem_num = 1, .sem_op = 1};
        if (semop(sem, &up, 1))
            die("semop");
        _exit(0);
    }
    waitpid(child, NULL, 0);
    t1 = time(NULL);
    sem_stat(sem, &ds, &by_index);
    out("semop by a child: GETPID the child %d, untouched 0 %d, otime now %d, by index %d %d\n",
        semctl(sem, 1, GETPID) == child, semctl(sem, 0, GETPID) == 0,
        within(ds.sem_otime, t0, t1), within(by_index.sem_otime, t0, t1),
        by_index.sem_ctime == ds.sem_ctime);

    struct sembuf down = {.sem_num = 1, .sem_op = -1};
    if (semop(sem, &down, 1))
        die("semop");
    out("semop by me: GETPID me %d\n", semctl(sem, 1, GETPID) == me);

    child = fork();
    if (child == 0) {
        union semun val = {.val = 3};
        if (semctl(sem, 0, SETVAL, val))
            die("SETVAL");
        _exit(0);
    }
    waitpid(child, NULL, 0);
    sem_stat(sem, &ds, &by_index);
    out("SETVAL by a child: GETPID the child %d, ctime now %d\n",
        semctl(sem, 0, GETPID) == child, within(ds.sem_ctime, t0, time(NULL)));

    unsigned short values[2] = {1, 2};
    union semun all = {.array = values};
    if (semctl(sem, 0, SETALL, all))
        die("SETALL");
    out("SETALL by me: GETPID me %d %d\n", semctl(sem, 0, GETPID) == me,
        semctl(sem, 1, GETPID) == me);
    semctl(sem, 0, IPC_RMID);

    t0 = time(NULL);
    int shm = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    if (shm < 0)
        die("shmget");
    t1 = time(NULL);
    struct shmid_ds sds;
    if (shmctl(shm, IPC_STAT, &sds))
        die("shmctl");
    out("shm created: cpid me %d, lpid 0 %d, ctime now %d, atime 0 %d\n", sds.shm_cpid == me,
        sds.shm_lpid == 0, within(sds.shm_ctime, t0, t1), sds.shm_atime == 0);
    child = fork();
    if (child == 0) {
        char *at = shmat(shm, NULL, 0);
        if (at == (void *)-1)
            die("shmat");
        at[0] = 'x';
        pass_byte(done[1]);
        sleep(2);
        shmdt(at);
        _exit(0);
    }
    take_byte(done[0]);
    if (shmctl(shm, IPC_STAT, &sds))
        die("shmctl");
    time_t attached = time(NULL);
    out("shmat by a child: lpid the child %d, atime now %d, nattch %d\n", sds.shm_lpid == child,
        within(sds.shm_atime, t1, attached), (int)sds.shm_nattch);
    waitpid(child, NULL, 0);
    if (shmctl(shm, IPC_STAT, &sds))
        die("shmctl");
    out("shmdt by the child: lpid the child %d, dtime 2 s later %d, nattch %d\n",
        sds.shm_lpid == child, within(sds.shm_dtime, attached + 2, time(NULL)),
        (int)sds.shm_nattch);
    shmctl(shm, IPC_RMID, NULL);

    t0 = time(NULL);
    int msq = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    if (msq < 0)
        die("msgget");
    t1 = time(NULL);
    struct msqid_ds mds;
    if (msgctl(msq, IPC_STAT, &mds))
        die("msgctl");
    out("msg queue created: ctime now %d\n", within(mds.msg_ctime, t0, t1));
    sleep(3);
    t0 = time(NULL);
    mds.msg_qbytes -= 1;
    if (msgctl(msq, IPC_SET, &mds))
        die("msgctl IPC_SET");
    if (msgctl(msq, IPC_STAT, &mds))
        die("msgctl");
    out("IPC_SET: ctime now %d\n", within(mds.msg_ctime, t0, time(NULL)));
    msgctl(msq, IPC_RMID, NULL);
    return 0;
}
