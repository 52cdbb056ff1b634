/* fork_regs: the kernel keeps a call's argument registers (syscall(2): only rax, rcx
 * and r11 change), in the parent and in the child of fork(2) and clone(2). The host
 * runs both natively with other flags in rdi (and fork as clone), and must put the
 * program's values back on both sides. Prints one line per side and call:
 *   "fork parent: kept" / "fork child: kept" / "clone parent: kept" / ...
 * or the first register that changed. Exit status 0. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *names[6] = {"rdi", "rsi", "rdx", "r10", "r8", "r9"};

/* the call with six argument registers; after it, what they hold */
static long raw_call(long nr, const long in[6], long out[6])
{
    register long rdi __asm__("rdi") = in[0];
    register long rsi __asm__("rsi") = in[1];
    register long rdx __asm__("rdx") = in[2];
    register long r10 __asm__("r10") = in[3];
    register long r8 __asm__("r8") = in[4];
    register long r9 __asm__("r9") = in[5];
    __asm__ volatile("syscall"
                     : "+a"(nr), "+r"(rdi), "+r"(rsi), "+r"(rdx), "+r"(r10), "+r"(r8), "+r"(r9)
                     :
                     : "rcx", "r11", "memory");
    out[0] = rdi, out[1] = rsi, out[2] = rdx, out[3] = r10, out[4] = r8, out[5] = r9;
    return nr;
}

static void check(const char *who, const long in[6], const long out[6])
{
    for (int i = 0; i < 6; i++) {
        if (in[i] != out[i]) {
            printf("%s: %s was %#lx, is %#lx\n", who, names[i], in[i], out[i]);
            return;
        }
    }
    printf("%s: kept\n", who);
}

static void one(const char *call, long nr, const long in[6])
{
    long out[6];
    char who[32];
    long pid = raw_call(nr, in, out);
    if (pid == 0) {
        snprintf(who, sizeof who, "%s child", call);
        check(who, in, out);
        fflush(stdout);
        _exit(0);
    }
    waitpid((pid_t)pid, NULL, 0);
    snprintf(who, sizeof who, "%s parent", call);
    check(who, in, out);
    fflush(stdout);
}

int main(void)
{
    /* fork ignores its arguments; clone with SIGCHLD alone: no stack, no TLS, and the
     * tid pointers unused without their flags */
    const long fork_args[6] = {0x1111, 0x2222, 0x3333, 0x4444, 0x5555, 0x6666};
    const long clone_args[6] = {SIGCHLD, 0, 0x3333, 0x4444, 0x5555, 0x6666};
    setvbuf(stdout, NULL, _IONBF, 0);
    one("fork", SYS_fork, fork_args);
    one("clone", SYS_clone, clone_args);
    return 0;
}
