/* pause_wake_state: as LTP's shmctl01 waits for its children (TST_PROCESS_STATE_WAIT):
 * a child with a SIGUSR1 handler loops in pause(), counting its wake-ups in shared
 * memory; the parent signals it and polls /proc/PID/stat until the child sleeps (S)
 * again, then reads the count. kill(2) wakes the child before it returns, so the state
 * is R until the child has counted and paused again: the count is one per signal.
 * Exit status 0. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include "common.h"

static void on_usr1(int sig) { (void)sig; }

static char state_of(pid_t pid)
{
    char buf[1024];
    return proc_stat(pid, buf, sizeof buf)[0];
}

static void wait_sleeping(pid_t pid)
{
    while (state_of(pid) != 'S')
        usleep(10000);
}

int main(void)
{
    volatile int *count = mmap(NULL, sizeof *count, PROT_READ | PROT_WRITE,
                               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (count == MAP_FAILED)
        die("mmap");
    signal(SIGUSR1, on_usr1);
    pid_t pid = fork();
    if (pid == 0) {
        for (;;) {
            pause();
            ++*count;
        }
    }
    wait_sleeping(pid);
    int right = 1;
    for (int i = 1; i <= 3; i++) {
        kill(pid, SIGUSR1);
        wait_sleeping(pid);
        right &= *count == i;
    }
    out("each signal counted before the child sleeps again: %d\n", right);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return 0;
}
