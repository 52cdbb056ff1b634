/* own_seccomp: a program that installs a seccomp filter of its own, as sandboxing
 * daemons do, and prints what its calls then do:
 *   getppid -> SECCOMP_RET_TRAP with data 0x42: a SIGSYS the handler describes
 *   getuid  -> SECCOMP_RET_ERRNO(EPERM)
 *   getpid  -> allowed
 * Inside a host, the program's filter sits on top of the host's, whose answers (trace
 * the call) rank below TRAP and ERRNO (seccomp(2)): the output is the same as natively.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile sig_atomic_t got_code, got_errno, got_syscall;

static void on_sigsys(int sig, siginfo_t *info, void *uc)
{
    (void)sig;
    (void)uc;
    got_code = info->si_code;
    got_errno = info->si_errno;
    got_syscall = info->si_syscall;
}

int main(void)
{
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP | 0x42),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getuid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof code / sizeof code[0], code};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSYS, &sa, NULL);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
        perror("prctl");
        return 1;
    }
    syscall(SYS_getppid);
    printf("getppid: SIGSYS si_code %d si_errno %#x si_syscall %d\n", (int)got_code,
           (int)got_errno, (int)got_syscall);
    long uid = syscall(SYS_getuid);
    printf("getuid = %ld %s\n", uid, uid < 0 ? strerrorname_np(errno) : "");
    printf("getpid %s\n", syscall(SYS_getpid) > 0 ? "ok" : "failed");
    return 0;
}
