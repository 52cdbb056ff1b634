/* vhangup(2) from a new session (no controlling terminal: nothing to hang up, 0)
 * and from an unprivileged process (EPERM: CAP_SYS_TTY_CONFIG). Only ever called
 * after setsid(), so a native run never hangs up a real terminal. */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include "common.h"

int main(void)
{
    for (int unprivileged = 0; unprivileged < 2; unprivileged++) {
        pid_t child = fork();
        if (child == 0) {
            if (setsid() < 0)
                die("setsid");
            if (unprivileged && (setgid(65534) || setuid(65534)))
                die("setuid");
            long r = syscall(SYS_vhangup);
            out("%s vhangup() = %ld %s\n", unprivileged ? "nobody:" : "root:", r,
                r ? errname(errno) : "");
            _exit(0);
        }
        waitpid(child, NULL, 0);
    }
    return 0;
}
