/* Calls whose arguments the host rewrites for the native call, given structures in
 * read-only memory (the kernel only reads them): F_SETOWN_EX, FIOSETOWN, capset,
 * clone3; and clone's tid pointers at a read-only word (the kernel skips the write). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <linux/sockios.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char *page;

static void *readonly(const void *data, size_t len)
{
    mprotect(page, 4096, PROT_READ | PROT_WRITE);
    memset(page, 0, 4096);
    memcpy(page, data, len);
    mprotect(page, 4096, PROT_READ);
    return page;
}

static void report(const char *what, long r)
{
    printf("%s %ld %d\n", what, r, r < 0 ? errno : 0);
}

static void reap(const char *what)
{
    int status = 0;
    pid_t pid = wait(&status);
    printf("%s reaped %d exit %d\n", what, pid > 0, WEXITSTATUS(status));
}

int main(void)
{
    int fds[2], socks[2];
    struct f_owner_ex ex = {F_OWNER_PID, getpid()}, got;
    int self = getpid();
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    struct clone_args args;
    long r;

    setvbuf(stdout, NULL, _IONBF, 0);
    page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    pipe(fds);
    socketpair(AF_UNIX, SOCK_STREAM, 0, socks);
    report("F_SETOWN_EX", fcntl(fds[0], F_SETOWN_EX, readonly(&ex, sizeof ex)));
    fcntl(fds[0], F_GETOWN_EX, &got);
    printf("owner is self %d\n", got.pid == self);
    report("FIOSETOWN", ioctl(socks[0], FIOSETOWN, readonly(&self, sizeof self)));
    printf("owner is self %d\n", fcntl(socks[0], F_GETOWN) == self);

    syscall(SYS_capget, &hdr, data);
    hdr.pid = self;
    report("capset", syscall(SYS_capset, readonly(&hdr, sizeof hdr), data));

    memset(&args, 0, sizeof args);
    args.exit_signal = SIGCHLD;
    r = syscall(SYS_clone3, readonly(&args, sizeof args), sizeof args);
    if (r == 0)
        _exit(3);
    report("clone3", r > 0);
    reap("clone3");

    r = syscall(SYS_clone, CLONE_PARENT_SETTID | CLONE_CHILD_SETTID | SIGCHLD, 0,
                readonly(&(int){0}, sizeof(int)), page, 0);
    if (r == 0)
        _exit(*(int *)page == 0 ? 4 : 5);  /* no tid written into its read-only word */
    report("clone", r > 0);
    reap("clone");
    printf("parent word %d\n", *(int *)page);

    /* a tid word across a page boundary, its second half read-only: put_user()
     * writes all four bytes or none */
    char *pair = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                      -1, 0);
    mprotect(pair + 4096, 4096, PROT_READ);
    r = syscall(SYS_clone, CLONE_PARENT_SETTID | CLONE_CHILD_SETTID | SIGCHLD, 0,
                pair + 4094, pair + 4094, 0);
    if (r == 0)
        _exit(pair[4094] == 0 && pair[4095] == 0 ? 6 : 7);
    report("clone across pages", r > 0);
    reap("clone across pages");
    printf("parent bytes %d %d\n", pair[4094], pair[4095]);
    return 0;
}
