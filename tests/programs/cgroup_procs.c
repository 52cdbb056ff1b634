/* cgroup_procs: a cgroup's pid list names the caller's processes by the ids it knows
 * (cgroups(7)), as root on a cgroup2 hierarchy. A child cgroup is made under the
 * caller's own; clone3 with CLONE_INTO_CGROUP starts a child in it; its cgroup.procs
 * lists the child's pid; the child's pid written to the parent cgroup's cgroup.procs
 * moves it back (the list is then empty); the cgroup is removed at the end. Prints
 * "no cgroup2" when the machine has no writable cgroup2 hierarchy. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include "common.h"

static int cgroup2_dir(char *out, size_t size)
{
    FILE *f = fopen("/proc/self/mountinfo", "r");
    char line[1024], mnt[512] = "";
    while (f && fgets(line, sizeof line, f)) {
        char point[512];
        const char *sep = strstr(line, " - ");
        if (sep && !strncmp(sep, " - cgroup2 ", 11) &&
            sscanf(line, "%*s %*s %*s %*s %511s", point) == 1) {
            snprintf(mnt, sizeof mnt, "%s", point);
            break;
        }
    }
    if (f)
        fclose(f);
    f = fopen("/proc/self/cgroup", "r");
    char own[512] = "";
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "0::", 3)) {
            line[strcspn(line, "\n")] = 0;
            snprintf(own, sizeof own, "%s", line + 3);
        }
    if (f)
        fclose(f);
    if (!mnt[0])
        return -1;
    snprintf(out, size, "%s%s", mnt, strcmp(own, "/") ? own : "");
    return 0;
}

static long listed(int dir)
{
    char buf[256] = {0};
    int fd = openat(dir, "cgroup.procs", O_RDONLY);
    if (fd < 0)
        die("open cgroup.procs");
    long n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0)
        die("read cgroup.procs");
    return n == 0 ? 0 : atol(buf);
}

int main(void)
{
    char parent[600], path[700];
    if (cgroup2_dir(parent, sizeof parent) < 0) {
        out("no cgroup2\n");
        return 0;
    }
    snprintf(path, sizeof path, "%s/simproc_cgroup_procs_%d", parent, getpid());
    if (mkdir(path, 0755) < 0) {
        out("no cgroup2\n");
        return 0;
    }
    int dir = open(path, O_RDONLY | O_DIRECTORY);
    int up = open(parent, O_RDONLY | O_DIRECTORY);
    int go[2];
    if (dir < 0 || up < 0 || pipe(go) < 0)
        die("open");
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = (uint64_t)dir;
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid < 0)
        die("clone3");
    if (pid == 0) {
        take_byte(go[0]);
        _exit(0);
    }
    out("the child is listed: %d\n", listed(dir) == pid);
    int fd = openat(up, "cgroup.procs", O_WRONLY);
    char text[32];
    int len = snprintf(text, sizeof text, "%ld\n", pid);
    long r = fd < 0 ? -1 : write(fd, text, (size_t)len);
    out("moved back: %s, listed: %ld\n", r == len ? "whole" : errname(errno), listed(dir));
    close(fd);
    pass_byte(go[1]);
    waitpid((pid_t)pid, NULL, 0);
    out("removed: %d\n", rmdir(path));
    return 0;
}
