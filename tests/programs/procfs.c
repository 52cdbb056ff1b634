/* procfs: open /proc/<pid> paths of a child and of its second thread, and print what
 * each open read, or its error. The child is named "kid", its thread "kidthread"
 * (PR_SET_NAME); the program itself keeps its own name. One line per open:
 *   open("PATH") = CONTENT                   (the first line of the file)
 *   openat(AT_FDCWD, "PATH") = -1 ERRNAME
 *   openat(fd of /proc/CHILD, "PATH") = ...  (relative to a directory opened earlier)
 * with the pids in PATH written CHILD, THREAD, PARENT, so that the output does not
 * depend on them; "open" is the open(2) system call itself, not glibc's openat.
 * Then the other calls that take a path (access, faccessat, faccessat2, stat, lstat,
 * fstatat, statx, readlink, readlinkat, inotify_add_watch, chdir, execve) and the
 * listings of /proc and /proc/CHILD/task, with the numbers written as names:
 *   stat("/proc/CHILD/task/THREAD") = 0
 *   readlink("/proc/thread-self") = PARENT/task/PARENT
 *   listing /proc/CHILD/task = CHILD THREAD
 * Then the child's main thread ends (pthread_exit) and the child's paths still open;
 * after the child is killed and reaped, they are ENOENT. Last, the program runs itself
 * again through execve("/proc/PARENT/exe"), which prints "execve("/proc/PARENT/exe")
 * = again". Exit status 0. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <dirent.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include "common.h"

static int ready[2], go[2];
static pid_t child, thread, parent;

static void *thread_main(void *arg)
{
    (void)arg;
    prctl(PR_SET_NAME, "kidthread");
    pid_t tid = gettid();
    if (write(ready[1], &tid, sizeof tid) != sizeof tid)
        _exit(101);
    for (;;)
        pause();
}

static void run_child(void)
{
    pthread_t t;
    char c;
    prctl(PR_SET_NAME, "kid");
    if (pthread_create(&t, NULL, thread_main, NULL))
        _exit(101);
    if (read(go[0], &c, 1) != 1)
        _exit(101);
    pthread_exit(NULL);
}

/* The template with CHILD, THREAD and PARENT replaced by the pids. */
static const char *expand(const char *tmpl)
{
    static char bufs[2][256];
    static int k;
    char *buf = bufs[k++ % 2];
    size_t n = 0;
    while (*tmpl && n < sizeof bufs[0] - 16) {
        static const char *const names[] = {"CHILD", "THREAD", "PARENT"};
        const pid_t pids[] = {child, thread, parent};
        int i;
        for (i = 0; i < 3; i++)
            if (!strncmp(tmpl, names[i], strlen(names[i])))
                break;
        if (i < 3) {
            n += (size_t)snprintf(buf + n, sizeof bufs[0] - n, "%d", (int)pids[i]);
            tmpl += strlen(names[i]);
        } else {
            buf[n++] = *tmpl++;
        }
    }
    buf[n] = '\0';
    return buf;
}

/* dirfd -2: the open(2) system call; else openat(dirfd, ...). */
static void show(const char *call, int dirfd, const char *tmpl)
{
    const char *path = expand(tmpl);
    int fd = dirfd == -2 ? (int)syscall(SYS_open, path, O_RDONLY)
                         : openat(dirfd, path, O_RDONLY);
    if (fd < 0) {
        out("%s\"%s\") = -1 %s\n", call, tmpl, errname(errno));
        return;
    }
    char buf[128];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0)
        die("read");
    buf[n] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    out("%s\"%s\") = %s\n", call, tmpl, buf);
}

/* The pids in ``text`` written as names again (the inverse of expand) */
static const char *names_of(const char *text)
{
    static char buf[256];
    size_t n = 0;
    while (*text && n < sizeof buf - 16) {
        char *end;
        long v = strtol(text, &end, 10);
        if (end != text && (v == child || v == thread || v == parent)) {
            const char *name = v == child ? "CHILD" : v == thread ? "THREAD" : "PARENT";
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s", name);
            text = end;
        } else if (end != text) {
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%.*s", (int)(end - text), text);
            text = end;
        } else {
            buf[n++] = *text++;
        }
    }
    buf[n] = '\0';
    return buf;
}

static void result(const char *call, const char *tmpl, long r)
{
    if (r < 0)
        out("%s(\"%s\") = -1 %s\n", call, tmpl, errname(errno));
    else
        out("%s(\"%s\") = 0\n", call, tmpl);
}

static void show_link(const char *call, int dirfd, const char *tmpl)
{
    char buf[256];
    ssize_t n = dirfd == -2 ? readlink(expand(tmpl), buf, sizeof buf - 1)
                            : readlinkat(dirfd, expand(tmpl), buf, sizeof buf - 1);
    if (n < 0) {
        out("%s(\"%s\") = -1 %s\n", call, tmpl, errname(errno));
        return;
    }
    buf[n] = '\0';
    const char *slash = strrchr(buf, '/');
    /* a file's path: its last component only, the directory depends on the machine */
    int file = buf[0] == '/' && strncmp(buf, "/proc/", 6);
    out("%s(\"%s\") = %s\n", call, tmpl, file ? slash + 1 : names_of(buf));
}

/* The pids a directory lists that the program knows, in the order listed, and
 * whether it lists a number the program does not know. */
static void show_listing(const char *tmpl, int want_all)
{
    DIR *d = opendir(expand(tmpl));
    if (!d)
        die(tmpl);
    char line[256] = "";
    int others = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        long v = strtol(e->d_name, NULL, 10);
        if (v == child || v == thread || v == parent) {
            strcat(line, " ");
            strcat(line, names_of(e->d_name));
        } else if (v > 0) {
            others++;
        }
    }
    closedir(d);
    out("listing %s =%s%s\n", tmpl, line, want_all && others ? " and others" : "");
}

/* The same through the old getdents(2): struct linux_dirent, d_type in the last byte */
static void show_old_listing(const char *tmpl)
{
    char buf[4096], line[256] = "";
    int fd = open(expand(tmpl), O_RDONLY | O_DIRECTORY);
    long n;
    if (fd < 0)
        die(tmpl);
    while ((n = syscall(SYS_getdents, fd, buf, sizeof buf)) > 0) {
        for (long off = 0; off < n;) {
            unsigned short reclen = *(unsigned short *)(buf + off + 16);
            const char *name = buf + off + 18;
            long v = strtol(name, NULL, 10);
            if ((v == child || v == thread || v == parent) && buf[off + reclen - 1] == DT_DIR) {
                strcat(line, " ");
                strcat(line, names_of(name));
            }
            off += reclen;
        }
    }
    if (n < 0)
        die("getdents");
    close(fd);
    out("old listing %s =%s\n", tmpl, line);
}

static int open_dir(const char *tmpl);

static void path_calls(void)
{
    struct stat st;
    struct statx stx;
    int proc = open_dir("/proc");
    result("access", "/proc/CHILD/oom_score_adj", access(expand("/proc/CHILD/oom_score_adj"), W_OK));
    result("access", "/proc/PARENT/task/CHILD", access(expand("/proc/PARENT/task/CHILD"), F_OK));
    result("faccessat", "CHILD/task/THREAD/comm",
           faccessat(proc, expand("CHILD/task/THREAD/comm"), R_OK, 0));
    result("faccessat2", "/proc/CHILD/task/THREAD",
           syscall(SYS_faccessat2, AT_FDCWD, expand("/proc/CHILD/task/THREAD"), R_OK, 0));
    result("stat", "/proc/CHILD/task/THREAD", stat(expand("/proc/CHILD/task/THREAD"), &st));
    result("lstat", "/proc/CHILD/task/THREAD/comm",
           lstat(expand("/proc/CHILD/task/THREAD/comm"), &st));
    result("fstatat", "CHILD/task/THREAD", fstatat(proc, expand("CHILD/task/THREAD"), &st, 0));
    result("statx", "/proc/CHILD/task/THREAD/stat",
           statx(AT_FDCWD, expand("/proc/CHILD/task/THREAD/stat"), 0, STATX_BASIC_STATS, &stx));
    result("stat", "/proc/PARENT/task/THREAD", stat(expand("/proc/PARENT/task/THREAD"), &st));
    /* a path the program cannot have: the kernel's EFAULT */
    result("newfstatat", "(char *)-1", syscall(SYS_newfstatat, AT_FDCWD, (char *)-1, &st, 0));
    result("openat", "(char *)-1", syscall(SYS_openat, AT_FDCWD, (char *)-1, O_RDONLY));
    result("access", "(char *)16", syscall(SYS_access, (char *)16, F_OK));
    result("readlink", "/proc/self\", (char *)-1, \"16",
           syscall(SYS_readlink, "/proc/self", (char *)-1, 16));
    result("getdents64", "fd of /proc\", (void *)-1, \"4096",
           syscall(SYS_getdents64, proc, (void *)-1, 4096));
    /* procfs has no extended attributes and refuses a mode change (EPERM): both are
     * ENOENT only where the path names no process */
    result("lgetxattr", "/proc/CHILD/task/THREAD",
           lgetxattr(expand("/proc/CHILD/task/THREAD"), "security.selinux", NULL, 0));
    result("getxattr", "/proc/PARENT/task/THREAD",
           getxattr(expand("/proc/PARENT/task/THREAD"), "system.posix_acl_access", NULL, 0));
    result("chmod", "/proc/CHILD/task/THREAD", chmod(expand("/proc/CHILD/task/THREAD"), 0555));
    result("utimensat", "/proc/PARENT/task/THREAD/comm",
           utimensat(AT_FDCWD, expand("/proc/PARENT/task/THREAD/comm"), NULL, 0));
    show_link("readlink", -2, "/proc/self");
    show_link("readlink", -2, "/proc/thread-self");
    show_link("readlinkat", proc, "self");
    show_link("readlink", -2, "/proc/CHILD/exe");
    show_link("readlinkat", proc, "CHILD/task/THREAD/exe");
    int dir = open_dir("/proc/CHILD/task");
    if (dup2(dir, 100) != 100 || fchdir(dir))
        die("dup2, fchdir");
    show_link("readlink", -2, "/proc/self/fd/100");
    show_link("readlink", -2, "/proc/thread-self/cwd");
    close(dir);
    if (dup2(open(expand("/proc/CHILD/stat"), O_RDONLY), 101) != 101)
        die("open stat");
    show_link("readlink", -2, "/proc/self/fd/101");
    close(100);
    close(101);
    int in = inotify_init1(IN_CLOEXEC);
    result("inotify_add_watch", "/proc/CHILD/task/THREAD",
           inotify_add_watch(in, expand("/proc/CHILD/task/THREAD"), IN_ACCESS) < 0 ? -1 : 0);
    close(in);
    show_listing("/proc", 1);
    show_listing("/proc/CHILD/task", 1);
    show_listing("/proc/PARENT/task", 1);
    show_old_listing("/proc/CHILD/task");
    int opath = open("/proc", O_PATH | O_DIRECTORY);
    char dents[1024];
    result("getdents64 of an O_PATH /proc", "", syscall(SYS_getdents64, opath, dents, sizeof dents));
    close(opath);
    result("chdir", "/proc/CHILD/task/THREAD", chdir(expand("/proc/CHILD/task/THREAD")));
    show("open(", -2, "comm");
    if (chdir("/") || close(proc))
        die("chdir /");
}

/* The state of the child's main thread (proc(5) /proc/pid/stat field 3), or '?' */
static char leader_state(void)
{
    char buf[512];
    int fd = open(expand("/proc/CHILD/task/CHILD/stat"), O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return '?';
    buf[n] = '\0';
    char *paren = strrchr(buf, ')');
    return paren && paren[1] == ' ' ? paren[2] : '?';
}

static int open_dir(const char *tmpl)
{
    int fd = open(expand(tmpl), O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        die(tmpl);
    return fd;
}

int main(int argc, char **argv)
{
    int st;
    if (argc > 1) {
        out("execve(\"/proc/PARENT/exe\") = %s\n", argv[1]);
        return 0;
    }
    if (pipe(ready) || pipe(go))
        die("pipe");
    parent = getpid();
    child = fork();
    if (child < 0)
        die("fork");
    if (child == 0)
        run_child();
    if (read(ready[0], &thread, sizeof thread) != sizeof thread)
        die("read tid");

    show("open(", -2, "/proc/CHILD/comm");
    show("openat(AT_FDCWD, ", AT_FDCWD, "/proc/CHILD/comm");
    show("openat(AT_FDCWD, ", AT_FDCWD, "/proc/CHILD/task/CHILD/comm");
    show("openat(AT_FDCWD, ", AT_FDCWD, "/proc/CHILD/task/THREAD/comm");
    show("openat(AT_FDCWD, ", AT_FDCWD, "/proc/THREAD/comm");
    show("openat(AT_FDCWD, ", AT_FDCWD, "/proc/PARENT/task/CHILD/comm");
    show("openat(AT_FDCWD, ", AT_FDCWD, "//proc/./CHILD/../CHILD//comm");
    show("openat(AT_FDCWD, ", AT_FDCWD, "/proc/self/comm");
    /* longer than 64 bytes */
    show("openat(AT_FDCWD, ", AT_FDCWD,
         "/proc/CHILD/task/THREAD/../../task/CHILD/../THREAD/../../task/THREAD/comm");

    if (chdir("/proc"))
        die("chdir /proc");
    show("open(", -2, "CHILD/comm");
    show("openat(AT_FDCWD, ", AT_FDCWD, "CHILD/task/THREAD/comm");
    show("openat(AT_FDCWD, ", AT_FDCWD, "self/comm");

    int proc = open_dir("/proc");
    show("openat(fd of /proc, ", proc, "CHILD/comm");
    int dir = open_dir("/proc/CHILD");
    show("openat(fd of /proc/CHILD, ", dir, "comm");
    show("openat(fd of /proc/CHILD, ", dir, "task/THREAD/comm");
    show("openat(fd of /proc/CHILD, ", dir, "../PARENT/comm");
    if (fchdir(dir))
        die("fchdir");
    show("open(", -2, "task/THREAD/comm");

    path_calls();

    /* the child's main thread ends; its process and /proc/CHILD live on */
    if (write(go[1], "", 1) != 1)
        die("write");
    for (int i = 0; leader_state() != 'Z'; i++) {
        if (i == 10000)
            die("the child's main thread does not end");
        usleep(1000);
    }
    show("openat(AT_FDCWD, ", AT_FDCWD, "/proc/CHILD/comm");
    show("openat(AT_FDCWD, ", AT_FDCWD, "/proc/CHILD/task/THREAD/comm");
    /* relative to the ended main thread's directory */
    if (chdir(expand("/proc/CHILD/task/CHILD")))
        die("chdir to the main thread");
    show("open(", -2, "../THREAD/comm");
    if (chdir("/"))
        die("chdir /");

    if (kill(child, SIGKILL))
        die("kill");
    if (waitpid(child, &st, 0) != child)
        die("waitpid");
    show("openat(AT_FDCWD, ", AT_FDCWD, "/proc/CHILD/comm");
    show("openat(fd of /proc, ", proc, "CHILD/comm");
    execl(expand("/proc/PARENT/exe"), "procfs", "again", (char *)NULL);
    die("execve");
}
