/* machine: calls that change the real machine, each with arguments that make it fail
 * harmlessly should it run natively (a bad magic number, paths that do not exist), and
 * a read of the kernel log's size, which changes nothing. One line per call:
 * "call = 0", "call = ok" (a positive result) or "call = -1 ERRNAME". Exit status 0. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void report(const char *call, long rc)
{
    if (rc < 0)
        printf("%s = -1 %s\n", call, strerrorname_np(errno));
    else
        printf("%s = %s\n", call, rc == 0 ? "0" : "ok");
}

int main(void)
{
    const char *nowhere = "/simproc-no-such-dir/x";
    setvbuf(stdout, NULL, _IONBF, 0);
    report("reboot(bad magic)", syscall(SYS_reboot, 0xdead, 0, 0, NULL));
    report("delete_module", syscall(SYS_delete_module, "simproc_no_such_module", O_NONBLOCK));
    report("swapoff", syscall(SYS_swapoff, nowhere));
    report("mount", syscall(SYS_mount, "none", nowhere, "tmpfs", 0, NULL));
    report("umount2", syscall(SYS_umount2, nowhere, 0));
    report("acct", syscall(SYS_acct, nowhere));
    report("iopl(0)", syscall(SYS_iopl, 0));
    report("syslog(OPEN)", syscall(SYS_syslog, 1, NULL, 0));
    report("syslog(SIZE_BUFFER)", syscall(SYS_syslog, 10, NULL, 0));
    return 0;
}
