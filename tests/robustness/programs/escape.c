/* escape: try to reach a process by its pid, and print what the kernel answered.
 *
 *   escape probe PID     kill(PID, 0), kill(PID, SIGTERM), kill(-PID, SIGTERM),
 *                        tgkill, ptrace(PTRACE_ATTACH), process_vm_readv,
 *                        process_vm_writev, pidfd_open, getpgid, prlimit: one line each
 *   escape sched PID     setpriority, sched_setaffinity, sched_setscheduler,
 *                        ioprio_set on PID (each changes PID if it reaches it)
 *   escape pidfd FD      pidfd_send_signal(FD, SIGTERM) and waitid(P_PIDFD, FD) on an
 *                        inherited descriptor
 *   escape killall       kill(-1, SIGKILL)
 *   escape killinit      kill(1, SIGKILL), then kill(1, 0) and getppid()
 *   escape peek PID      kill(PID, 0), pidfd_open and the read-only opens of
 *                        procfs (harmless: the native control run against a real
 *                        process)
 *   escape procfs PID    open /proc/PID/mem O_RDWR and /proc/PID/status, absolute
 *                        (open(2) and openat(2)), through "..", relative to a
 *                        descriptor of /proc and after chdir("/proc/PID")
 *   escape procdir FD    openat(FD, "status") and openat(FD, "mem", O_RDWR) on an
 *                        inherited descriptor of a /proc/PID directory
 *   escape peekdir FD    openat(FD, "status") only (harmless)
 *   escape observe PID   capget(PID) and perf_event_open(PID) (a task-clock counter), then
 *                        perf_event_open(-1, CPU 0): every process of a CPU
 *   escape owner PID     make PID the owner of a socket's signal-driven I/O through
 *                        fcntl F_SETOWN, F_SETOWN_EX and ioctl FIOSETOWN; after each,
 *                        with "send" as a third argument, O_ASYNC and a write, which
 *                        makes the kernel send SIGIO to the owner
 *   escape tiocsti       ioctl(0, TIOCSTI, "x"): push a byte into the input of the
 *                        terminal on standard input, as if typed
 *   escape untraced      clone(CLONE_UNTRACED | SIGCHLD): the child prints its pid and
 *                        whether a tracer holds it, the parent clone's result and the
 *                        child's exit status
 *   escape foreign       fork through the i386 ABI (int $0x80, number 2) and getpid
 *                        through the x32 ABI: what each returned (a child made by the
 *                        first says so and exits 7)
 *
 * Each line is "call = 0" or "call = -1 ERRNAME"; the exit status is 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <linux/perf_event.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef CLONE_UNTRACED
#define CLONE_UNTRACED 0x00800000
#endif
#define X32_SYSCALL_BIT 0x40000000
#define IOPRIO_WHO_PROCESS 1
#define IOPRIO_CLASS_BE 2

static const char *errname(int e)
{
    switch (e) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    case EINTR: return "EINTR";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case EFAULT: return "EFAULT";
    case EINVAL: return "EINVAL";
    case ENOSYS: return "ENOSYS";
    case EACCES: return "EACCES";
    default: {
        static char buf[32];
        snprintf(buf, sizeof buf, "errno%d", e);
        return buf;
    }
    }
}

static void report(const char *call, long rc)
{
    if (rc < 0)
        printf("%s = -1 %s\n", call, errname(errno));
    else
        printf("%s = %s\n", call, rc == 0 ? "0" : "ok");
    fflush(stdout);
}

static char target_buf[64] = "escape's buffer";

static long vm_read(pid_t pid)
{
    char buf[16];
    struct iovec local = {buf, sizeof buf};
    struct iovec remote = {target_buf, sizeof buf};
    return process_vm_readv(pid, &local, 1, &remote, 1, 0) < 0 ? -1 : 0;
}

static long vm_write(pid_t pid)
{
    char buf[16] = "overwritten";
    struct iovec local = {buf, sizeof buf};
    struct iovec remote = {target_buf, sizeof buf};
    return process_vm_writev(pid, &local, 1, &remote, 1, 0) < 0 ? -1 : 0;
}

static long pidfd(pid_t pid)
{
    long fd = syscall(SYS_pidfd_open, pid, 0);
    if (fd >= 0) {
        close((int)fd);
        return 0;
    }
    return -1;
}

static long perf_open(pid_t pid, int cpu)
{
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_TASK_CLOCK;
    long fd = syscall(SYS_perf_event_open, &attr, pid, cpu, -1, 0);
    if (fd >= 0) {
        close((int)fd);
        return 0;
    }
    return -1;
}

static int observe(pid_t pid)
{
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, pid};
    struct __user_cap_data_struct data[2];
    report("capget(PID)", syscall(SYS_capget, &header, data));
    report("perf_event_open(PID)", perf_open(pid, -1));
    report("perf_event_open(-1, CPU 0)", perf_open(-1, 0));
    return 0;
}

/* set the owner of a fresh socket's signal-driven I/O with `how`; then maybe trigger */
static void own(const char *call, pid_t pid, int how, int send)
{
    int sv[2];
    long rc;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
        return;
    if (how == 0) {
        rc = fcntl(sv[0], F_SETOWN, pid);
    } else if (how == 1) {
        struct f_owner_ex owner = {F_OWNER_PID, pid};
        rc = fcntl(sv[0], F_SETOWN_EX, &owner);
    } else {
        int owner = pid;
        rc = ioctl(sv[0], FIOSETOWN, &owner);
    }
    report(call, rc);
    if (send) {
        fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_ASYNC);
        write(sv[1], "x", 1);
    }
    close(sv[0]);
    close(sv[1]);
}

static int owner(pid_t pid, int send)
{
    own("fcntl(F_SETOWN, PID)", pid, 0, send);
    own("fcntl(F_SETOWN_EX, PID)", pid, 1, send);
    own("ioctl(FIOSETOWN, PID)", pid, 2, send);
    return 0;
}

/* 1 when /proc/self/status names a tracer */
static int traced(void)
{
    char line[256];
    int tracer = 0;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "TracerPid:", 10))
            tracer = atoi(line + 10);
    fclose(f);
    return tracer != 0;
}

static long opened(long fd)
{
    if (fd < 0)
        return -1;
    close((int)fd);
    return 0;
}

/* /proc/PID paths: the status opens only when harmless, mem O_RDWR as well if not */
static void proc_paths(pid_t pid, int harmless)
{
    char path[128];
    snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
    if (!harmless)
        report("open(\"/proc/PID/mem\", O_RDWR)", opened(open(path, O_RDWR)));
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    report("open(\"/proc/PID/status\")", opened(syscall(SYS_open, path, O_RDONLY)));
    int proc = open("/proc", O_RDONLY | O_DIRECTORY);
    snprintf(path, sizeof path, "%d/status", (int)pid);
    report("openat(fd of /proc, \"PID/status\")", opened(openat(proc, path, O_RDONLY)));
    close(proc);
    struct open_how how = {.flags = O_RDONLY};
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    report("openat2(AT_FDCWD, \"/proc/PID/status\")",
           opened(syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how)));
    snprintf(path, sizeof path, "/proc/thread-self/../../../%d/status", (int)pid);
    report("open(\"/proc/thread-self/../../../PID/status\")", opened(open(path, O_RDONLY)));
    snprintf(path, sizeof path, "/proc/%d", (int)pid);
    report("chdir(\"/proc/PID\")", chdir(path));
    report("open(\"status\")", opened(open("status", O_RDONLY)));
    if (!harmless)
        report("open(\"mem\", O_RDWR)", opened(open("mem", O_RDWR)));
}

static int untraced_child(void)
{
    int status;
    long pid = syscall(SYS_clone, CLONE_UNTRACED | SIGCHLD, 0, NULL, NULL, 0);
    if (pid == 0) {
        printf("child: getpid() = %d, %s\n", (int)getpid(), traced() ? "traced" : "untraced");
        fflush(stdout);
        _exit(3);
    }
    if (pid < 0) {
        report("clone(CLONE_UNTRACED|SIGCHLD)", -1);
        return 0;
    }
    waitpid((pid_t)pid, &status, 0);
    printf("parent: clone(CLONE_UNTRACED|SIGCHLD) = %ld, exit status %d\n", pid,
           WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}

static int foreign_abis(void)
{
    long ret;
    /* i386's fork is number 2 (x86_64's open); the 32-bit entry takes it from eax */
    __asm__ volatile ("int $0x80" : "=a"(ret) : "a"(2L) : "memory");
    if (ret == 0) {
        printf("child of the i386 fork\n");
        fflush(stdout);
        _exit(7);
    }
    if (ret > 0) {
        int status;
        waitpid((pid_t)ret, &status, 0);
        printf("int $0x80 fork() = ok, exit status %d\n", WEXITSTATUS(status));
    } else {
        errno = (int)-ret;
        report("int $0x80 fork()", -1);
    }
    report("x32 getpid()", syscall(X32_SYSCALL_BIT | SYS_getpid));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: escape probe|sched|peek|procfs|observe|owner PID | "
                "pidfd|procdir|peekdir FD | killall | killinit | tiocsti | untraced | foreign\n");
        return 2;
    }
    const char *mode = argv[1];
    if (!strcmp(mode, "tiocsti")) {
        report("ioctl(0, TIOCSTI, \"x\")", ioctl(0, TIOCSTI, "x"));
        return 0;
    }
    if (!strcmp(mode, "untraced"))
        return untraced_child();
    if (!strcmp(mode, "foreign"))
        return foreign_abis();
    if (!strcmp(mode, "killall")) {
        report("kill(-1, SIGKILL)", kill(-1, SIGKILL));
        return 0;
    }
    if (!strcmp(mode, "killinit")) {
        report("kill(1, SIGKILL)", kill(1, SIGKILL));
        report("kill(1, 0)", kill(1, 0));
        printf("getppid() = %d\n", (int)getppid());
        return 0;
    }
    if (argc < 3)
        return 2;
    pid_t pid = (pid_t)atoi(argv[2]);
    if (!strcmp(mode, "pidfd")) {
        int fd = (int)pid;
        siginfo_t info;
        report("pidfd_send_signal(FD, SIGTERM)",
               syscall(SYS_pidfd_send_signal, fd, SIGTERM, NULL, 0));
        report("waitid(P_PIDFD, FD)", waitid((idtype_t)P_PIDFD, (id_t)fd, &info,
                                             WEXITED | WNOHANG));
        return 0;
    }
    if (!strcmp(mode, "observe"))
        return observe(pid);
    if (!strcmp(mode, "owner"))
        return owner(pid, argc > 3 && !strcmp(argv[3], "send"));
    if (!strcmp(mode, "procdir") || !strcmp(mode, "peekdir")) {
        int fd = (int)pid;
        report("openat(FD, \"status\")", opened(openat(fd, "status", O_RDONLY)));
        if (!strcmp(mode, "procdir"))
            report("openat(FD, \"mem\", O_RDWR)", opened(openat(fd, "mem", O_RDWR)));
        return 0;
    }
    if (!strcmp(mode, "procfs")) {
        proc_paths(pid, 0);
        return 0;
    }
    if (!strcmp(mode, "sched")) {
        cpu_set_t set;
        struct sched_param param = {0};
        CPU_ZERO(&set);
        CPU_SET(0, &set);
        report("setpriority(PRIO_PROCESS, PID, 7)", setpriority(PRIO_PROCESS, pid, 7));
        report("sched_setaffinity(PID, {0})", sched_setaffinity(pid, sizeof set, &set));
        report("sched_setscheduler(PID, SCHED_BATCH)",
               sched_setscheduler(pid, SCHED_BATCH, &param));
        report("ioprio_set(PID, BE/7)", syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, pid,
                                                (IOPRIO_CLASS_BE << 13) | 7));
        return 0;
    }
    report("kill(PID, 0)", kill(pid, 0));
    if (!strcmp(mode, "peek")) {
        report("pidfd_open(PID)", pidfd(pid));
        proc_paths(pid, 1);
        return 0;
    }
    report("kill(PID, SIGTERM)", kill(pid, SIGTERM));
    report("kill(-PID, SIGTERM)", kill(-pid, SIGTERM));
    report("tgkill(PID, PID, SIGTERM)", syscall(SYS_tgkill, pid, pid, SIGTERM));
    report("ptrace(PTRACE_ATTACH, PID)", ptrace(PTRACE_ATTACH, pid, 0, 0));
    report("process_vm_readv(PID)", vm_read(pid));
    report("process_vm_writev(PID)", vm_write(pid));
    report("pidfd_open(PID)", pidfd(pid));
    report("getpgid(PID)", getpgid(pid) < 0 ? -1 : 0);
    struct rlimit limit = {64, 64};
    report("prlimit(PID, RLIMIT_NOFILE)", prlimit(pid, RLIMIT_NOFILE, &limit, NULL));
    return 0;
}
