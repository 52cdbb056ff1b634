/* A process waiting for a file lock wakes when the lock is freed, while the process
 * that freed it runs on (fcntl(2) "Advisory record locking", flock(2)): by flock's
 * LOCK_UN or a downgrade to LOCK_SH, by an F_SETLK or F_OFD_SETLK unlock or downgrade,
 * by close(2) of the last descriptor (flock, OFD) or of any descriptor of the file
 * (POSIX), by the holder's death (SIGKILL, exit). After each release the releaser yields until the
 * waiter holds the lock (a flag in shared memory), for at most 2 s of CLOCK_MONOTONIC,
 * and prints whether it saw the flag. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include "common.h"

enum kind { FLOCK, POSIX, OFD };

static char path[64];
static volatile int *got;

static int reopen(void)
{
    int fd = open(path, O_RDWR);
    if (fd < 0)
        die("open");
    return fd;
}

static int take(int fd, enum kind kind, short type, int wait)
{
    if (kind == FLOCK)
        return flock(fd, (type == F_WRLCK ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB));
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET};
    if (kind == POSIX)
        return fcntl(fd, wait ? F_SETLKW : F_SETLK, &fl);
    return fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl);
}

static void reap(pid_t pid)
{
    int st;
    if (waitpid(pid, &st, 0) != pid)
        die("waitpid");
    out("child: %s\n", status(st));
}

/* A child that closes `held` and waits for a `type` lock of the file and raises the flag once it has it;
 * returns when the child waits (a moment later). */
static pid_t waiter(int held, enum kind kind, short type)
{
    *got = 0;
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        if (held >= 0)
            close(held);   /* the holder's description is its parent's alone */
        int fd = reopen();
        if (take(fd, kind, type, 1))
            die("wait for the lock");
        *got = 1;
        _exit(0);
    }
    usleep(300000);
    return pid;
}

static void watch(const char *release, pid_t pid)
{
    long long t0 = clock_ns(CLOCK_MONOTONIC);
    while (!*got && clock_ns(CLOCK_MONOTONIC) - t0 < 2000000000LL)
        sched_yield();
    out("%s: the waiter has the lock while the releaser runs: %d\n", release, *got);
    reap(pid);
}

/* The parent holds a `held` lock of `kind`, a child waits for a `wanted` one, and the
 * parent releases it by `how`: 'u' unlock, 'd' downgrade, 'c' close that descriptor,
 * 'o' close another descriptor of the file. */
static void released(const char *release, enum kind kind, short held, short wanted, char how)
{
    int fd = reopen();
    if (take(fd, kind, held, 0))
        die("take");
    pid_t pid = waiter(fd, kind, wanted);
    if (how == 'u' || how == 'd') {
        int r = how == 'd' ? take(fd, kind, F_RDLCK, 0)
                : kind == FLOCK ? flock(fd, LOCK_UN) : take(fd, kind, F_UNLCK, 0);
        if (r)
            die("release");
    } else if (how == 'o') {
        close(reopen());
    } else {
        close(fd);
        fd = -1;
    }
    watch(release, pid);
    if (fd >= 0)
        close(fd);
}

int main(void)
{
    got = mmap(NULL, sizeof *got, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (got == MAP_FAILED)
        die("mmap");
    snprintf(path, sizeof path, "/tmp/simproc-lockwake-XXXXXX");
    int made = mkstemp(path);
    if (made < 0)
        die("mkstemp");
    close(made);

    released("flock LOCK_UN", FLOCK, F_WRLCK, F_WRLCK, 'u');
    released("flock LOCK_SH|LOCK_NB, from LOCK_EX", FLOCK, F_WRLCK, F_RDLCK, 'd');
    released("close, flock's last descriptor", FLOCK, F_WRLCK, F_WRLCK, 'c');
    released("F_SETLK F_UNLCK", POSIX, F_WRLCK, F_WRLCK, 'u');
    released("F_SETLK F_RDLCK, from F_WRLCK", POSIX, F_WRLCK, F_RDLCK, 'd');
    released("close of another descriptor, POSIX", POSIX, F_WRLCK, F_WRLCK, 'o');
    released("F_OFD_SETLK F_UNLCK", OFD, F_WRLCK, F_WRLCK, 'u');
    released("close, OFD's last descriptor", OFD, F_WRLCK, F_WRLCK, 'c');

    /* the holder is a child: killed, then one that exits after a sleep */
    for (int killed = 1; killed >= 0; killed--) {
        int ready[2];
        if (pipe(ready))
            die("pipe");
        pid_t holder = fork();
        if (holder == 0) {
            if (take(reopen(), POSIX, F_WRLCK, 0))
                die("take");
            pass_byte(ready[1]);
            if (killed)
                pause();
            usleep(400000);  /* ends 0.1 s into the parent's watch */
            _exit(0);
        }
        take_byte(ready[0]);
        close(ready[0]);
        close(ready[1]);
        pid_t pid = waiter(-1, POSIX, F_WRLCK);
        if (killed)
            kill(holder, SIGKILL);
        watch(killed ? "the holder killed" : "the holder's exit", pid);
        reap(holder);
    }
    unlink(path);
    return 0;
}
