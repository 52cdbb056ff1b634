/* ids: print the process identity as the kernel reports it.
 * Output (one line): "PID PPID PGRP SID TID", e.g. "1000 1 1 1 1000" in a fresh host.
 * Exit status: 0, or 1 if a call failed. */
#define _GNU_SOURCE
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>

int main(void)
{
    pid_t pid = getpid();
    pid_t ppid = getppid();
    pid_t pgrp = getpgrp();
    pid_t sid = getsid(0);
    long tid = syscall(SYS_gettid);

    if (sid < 0 || tid < 0) {
        perror("ids");
        return 1;
    }
    printf("%d %d %d %d %ld\n", (int)pid, (int)ppid, (int)pgrp, (int)sid, tid);
    return 0;
}
