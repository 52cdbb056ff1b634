/* Time namespaces applied (time_namespaces(7)): unshare(CLONE_NEWTIME), the offsets
 * written to /proc/self/timens_offsets with the kernel's errors, a forked child's
 * monotonic and boottime clocks (vDSO and system call), its absolute sleeps and
 * timers, /proc/uptime, setns(2) back to the first namespace, a thread, a vfork
 * child, an exec, clone3(CLONE_NEWTIME) and an unprivileged caller. Clock
 * differences are printed rounded to 100 s, and waits as whether they lasted at
 * least their time and less than 100 s, so that a native run, where real time
 * passes, prints what the host prints.
 * Natively it needs CAP_SYS_ADMIN and CAP_SYS_TIME. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include "common.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x80
#endif
#define NSEC 1000000000LL

static int64_t now(clockid_t clock)
{
    struct timespec ts;
    if (clock_gettime(clock, &ts))
        die("clock_gettime");
    return ts.tv_sec * NSEC + ts.tv_nsec;
}

static int64_t now_syscall(clockid_t clock)
{
    struct timespec ts;
    if (syscall(SYS_clock_gettime, clock, &ts))
        die("clock_gettime syscall");
    return ts.tv_sec * NSEC + ts.tv_nsec;
}

/* rounded to 100 s */
static long secs(int64_t ns)
{
    const int64_t unit = 100 * NSEC;
    return (long)((ns + (ns >= 0 ? unit / 2 : -unit / 2)) / unit * 100);
}

static int waited_for(int64_t ns, int64_t wanted)
{
    return ns >= wanted && ns < 100 * NSEC;
}

static const char *write_offsets(const char *text)
{
    static char buf[32];
    int fd = open("/proc/self/timens_offsets", O_WRONLY);
    if (fd < 0)
        die("open timens_offsets");
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    if (n < 0)
        return strerrorname_np(errno);
    snprintf(buf, sizeof buf, "%zd", n);
    return buf;
}

static void show_offsets(void)
{
    char buf[256];
    int fd = open("/proc/self/timens_offsets", O_RDWR);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (n < 0)
        die("read timens_offsets");
    buf[n] = 0;
    out("%s", buf);
    /* a write after a read: not at the file's start */
    ssize_t w = write(fd, "monotonic 1 0", 13);
    out("write at offset %zd: %s\n", n, w < 0 ? strerrorname_np(errno) : "ok");
    close(fd);
}

static double uptime(void)
{
    char buf[64] = {0};
    int fd = open("/proc/uptime", O_RDONLY);
    if (fd < 0 || read(fd, buf, sizeof buf - 1) <= 0)
        die("/proc/uptime");
    close(fd);
    return atof(buf);
}

static void link_of(const char *path, char *buf, size_t size)
{
    ssize_t n = readlink(path, buf, size - 1);
    if (n < 0)
        die("readlink");
    buf[n] = 0;
}

static int64_t root_mono, root_boot;

static void *thread_main(void *arg)
{
    (void)arg;
    out("thread: MONOTONIC %+ld\n", secs(now(CLOCK_MONOTONIC) - root_mono));
    return NULL;
}

static void child(int root_fd, double parent_uptime, const char *children_link)
{
    int64_t mono = now(CLOCK_MONOTONIC), boot = now(CLOCK_BOOTTIME);
    out("child: MONOTONIC %+ld BOOTTIME %+ld RAW %+ld COARSE %+ld\n",
        secs(mono - root_mono), secs(boot - root_boot),
        secs(now(CLOCK_MONOTONIC_RAW) - root_mono),
        secs(now(CLOCK_MONOTONIC_COARSE) - root_mono));
    out("child (syscall): MONOTONIC %+ld BOOTTIME %+ld REALTIME same: %d\n",
        secs(now_syscall(CLOCK_MONOTONIC) - root_mono),
        secs(now_syscall(CLOCK_BOOTTIME) - root_boot),
        labs(secs(now(CLOCK_REALTIME) - now_syscall(CLOCK_REALTIME))) == 0);
    out("child: /proc/uptime %+ld\n", secs((int64_t)((uptime() - parent_uptime) * NSEC)));
    char own[64];
    link_of("/proc/self/ns/time", own, sizeof own);
    out("child: in the parent's namespace for children: %d\n",
        strcmp(own, children_link) == 0);

    /* an absolute sleep in the namespace's terms: 0.25 s from now (read as the
     * first namespace's time it would last 1000 s) */
    struct timespec until = {.tv_sec = (mono + NSEC / 4) / NSEC,
                             .tv_nsec = (mono + NSEC / 4) % NSEC};
    int r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
    int64_t slept = now(CLOCK_MONOTONIC) - mono;
    out("child: absolute sleep %d, slept 0.25 s: %d\n", r, waited_for(slept, NSEC / 4));

    /* an absolute timerfd on BOOTTIME, 0.25 s on */
    boot = now(CLOCK_BOOTTIME);
    int tfd = timerfd_create(CLOCK_BOOTTIME, 0);
    struct itimerspec its = {.it_value = {.tv_sec = (boot + NSEC / 4) / NSEC,
                                          .tv_nsec = (boot + NSEC / 4) % NSEC}};
    if (tfd < 0 || timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL))
        die("timerfd");
    uint64_t count;
    if (read(tfd, &count, sizeof count) != sizeof count)
        die("timerfd read");
    int64_t waited = now(CLOCK_BOOTTIME) - boot;
    out("child: absolute timerfd %llu, waited 0.25 s: %d\n", (unsigned long long)count,
        waited_for(waited, NSEC / 4));

    /* an absolute POSIX timer on MONOTONIC, 0.25 s on */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    struct sigevent sev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
    timer_t timer;
    mono = now(CLOCK_MONOTONIC);
    its.it_value.tv_sec = (mono + NSEC / 4) / NSEC;
    its.it_value.tv_nsec = (mono + NSEC / 4) % NSEC;
    if (timer_create(CLOCK_MONOTONIC, &sev, &timer)
            || timer_settime(timer, TIMER_ABSTIME, &its, NULL))
        die("timer");
    int sig;
    sigwait(&set, &sig);
    waited = now(CLOCK_MONOTONIC) - mono;
    out("child: absolute timer %s, waited 0.25 s: %d\n", signame(sig),
        waited_for(waited, NSEC / 4));

    out("child: setns to the first namespace: %d\n", setns(root_fd, CLONE_NEWTIME));
    out("child: MONOTONIC %+ld BOOTTIME %+ld\n", secs(now(CLOCK_MONOTONIC) - root_mono),
        secs(now(CLOCK_BOOTTIME) - root_boot));
}

int main(int argc, char **argv)
{
    if (argc == 3) {  /* exec'd: the offsets of the namespace it entered */
        out("%s: MONOTONIC %+ld\n", argv[1],
            secs(now(CLOCK_MONOTONIC) - strtoll(argv[2], NULL, 10)));
        return 0;
    }
    int root_fd = open("/proc/self/ns/time_for_children", O_RDONLY);
    if (root_fd < 0)
        die("open ns");
    out("before unshare: %s\n", write_offsets("monotonic 10 0"));
    if (unshare(CLONE_NEWTIME))
        die("unshare");
    char own[64], children[64];
    link_of("/proc/self/ns/time", own, sizeof own);
    link_of("/proc/self/ns/time_for_children", children, sizeof children);
    out("unshared: namespace for children differs: %d\n", strcmp(own, children) != 0);
    const char *bad[] = {"realtime 10 0", "3 1 0", "monotonic 1 1000000000", "monotonic 1",
                         "monotonic x 0", "monotonic 1 -5", "monotonic 9223372037 0",
                         "boottime -99999999999 0", "", NULL};
    for (int i = 0; bad[i]; i++)
        out("write \"%s\": %s\n", bad[i], write_offsets(bad[i]));
    out("write two lines and a third: %s\n",
        write_offsets("monotonic 5 0\nboottime 6 0\nmonotonic 7 0\n"));
    show_offsets();
    out("write by number: %s\n", write_offsets("1 1000 0\n7 2000 5000\n"));
    show_offsets();

    root_mono = now(CLOCK_MONOTONIC);
    root_boot = now(CLOCK_BOOTTIME);
    double up = uptime();
    out("parent: MONOTONIC %+ld\n", secs(now_syscall(CLOCK_MONOTONIC) - root_mono));

    pthread_t thread;
    if (pthread_create(&thread, NULL, thread_main, NULL))
        die("pthread_create");
    pthread_join(thread, NULL);

    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        child(root_fd, up, children);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    out("child %s\n", status == 0 ? "exited 0" : "failed");
    out("after a child entered: %s\n", write_offsets("monotonic 3 0"));

    /* clone3(CLONE_NEWTIME): a new namespace for the child, made from the one for
     * children, its offsets fixed */
    struct clone_args args = {.flags = CLONE_NEWTIME, .exit_signal = SIGCHLD};
    pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid < 0)
        die("clone3");
    if (pid == 0) {
        char mine[64];
        link_of("/proc/self/ns/time", mine, sizeof mine);
        out("clone3 child: MONOTONIC %+ld BOOTTIME %+ld, a namespace of its own: %d\n",
            secs(now(CLOCK_MONOTONIC) - root_mono), secs(now(CLOCK_BOOTTIME) - root_boot),
            strcmp(mine, children) != 0 && strcmp(mine, own) != 0);
        out("clone3 child: its offsets fixed: %s\n", write_offsets("monotonic 1 0"));
        _exit(0);
    }
    waitpid(pid, &status, 0);

    /* without CAP_SYS_ADMIN */
    pid = fork();
    if (pid == 0) {
        if (setresuid(65534, 65534, 65534))
            die("setresuid");
        out("nobody: unshare %s\n", unshare(CLONE_NEWTIME) ? strerrorname_np(errno) : "0");
        out("nobody: setns %s\n", setns(root_fd, CLONE_NEWTIME) ? strerrorname_np(errno) : "0");
        _exit(0);
    }
    waitpid(pid, &status, 0);
    out("parent: MONOTONIC %+ld\n", secs(now(CLOCK_MONOTONIC) - root_mono));

    char arg[32];
    snprintf(arg, sizeof arg, "%lld", (long long)root_mono);
    pid = vfork();
    if (pid == 0) {
        execl("/proc/self/exe", argv[0], "vfork child exec'd", arg, (char *)NULL);
        _exit(101);
    }
    waitpid(pid, &status, 0);
    execl("/proc/self/exe", argv[0], "parent exec'd", arg, (char *)NULL);
    die("execl");
}
