/* priority: nice values by process, process group and user (getpriority(2),
 * setpriority(2)), as root and as another user.
 *
 * Run as root. A child A leads a new process group with its child B; the parent sets
 * the group's nice value and one member's, reads the group's (the lowest nice value
 * wins), the raw system call's 20 - nice, /proc/B/stat's priority and nice fields,
 * clamping to -20..19, sched_getattr(2)'s sched_nice, and the errors for a missing
 * process, group or user and a bad "which". A child C then takes uid 61234 (no other
 * process has it) with RLIMIT_NICE 0: raising its value is allowed, lowering it is
 * EACCES, another user's process (its parent, init, A's group) is EPERM, PRIO_USER 0
 * names its own processes (C and its child D, which inherited C's value). Exit
 * status 0. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

#define UID 61234
#define NO_USER 4000000000u

static void show(const char *label, int r)
{
    if (r == -1)
        out("%s -1 %s\n", label, errname(errno));
    else
        out("%s %d\n", label, r);
}

static void get(const char *label, int which, id_t who)
{
    errno = 0;
    int r = getpriority(which, who);
    if (r == -1 && errno)
        show(label, -1);
    else
        show(label, r);
}

static void set(const char *label, int which, id_t who, int value)
{
    show(label, setpriority(which, who, value));
}

/* /proc/PID/stat's fields 18 and 19 (proc(5)): priority and nice. */
static void stat_fields(pid_t pid)
{
    char buf[1024];
    char *save, *tok = strtok_r(proc_stat(pid, buf, sizeof buf), " ", &save);
    long prio = 0, nice = 0;
    for (int field = 3; tok && field <= 19; field++, tok = strtok_r(NULL, " ", &save)) {
        if (field == 18) prio = atol(tok);
        if (field == 19) nice = atol(tok);
    }
    out("stat priority %ld nice %ld\n", prio, nice);
}

static void as_other_user(pid_t group)
{
    struct rlimit rl = {0, 0};
    if (setrlimit(RLIMIT_NICE, &rl) != 0 || setgid(UID) != 0 || setuid(UID) != 0)
        die("drop privileges");
    set("user raise to 10", PRIO_PROCESS, 0, 10);
    set("user raise to 11", PRIO_PROCESS, 0, 11);
    set("user lower to 10", PRIO_PROCESS, 0, 10);
    get("user own", PRIO_PROCESS, 0);
    set("user parent", PRIO_PROCESS, getppid(), 12);
    set("user init", PRIO_PROCESS, 1, 12);
    set("user root group", PRIO_PGRP, group, 12);
    set("user own user 12", PRIO_USER, 0, 12);
    int ready[2];
    if (pipe(ready) != 0)
        die("pipe");
    pid_t d = fork();
    if (d < 0)
        die("fork");
    if (d == 0) {
        get("D inherited", PRIO_PROCESS, 0);
        pass_byte(ready[1]);
        pause();
        _exit(0);
    }
    take_byte(ready[0]);
    set("user own user 13", PRIO_USER, UID, 13);
    get("user D", PRIO_PROCESS, d);
    set("user D 14", PRIO_PROCESS, d, 14);
    get("user own user", PRIO_USER, 0);
    kill(d, SIGKILL);
    waitpid(d, NULL, 0);
    _exit(0);
}

int main(void)
{
    if (geteuid() != 0) {
        out("not root\n");
        return 100;
    }
    int ready[2], go[2];
    if (pipe(ready) != 0 || pipe(go) != 0)
        die("pipe");
    pid_t a = fork();
    if (a < 0)
        die("fork");
    if (a == 0) {
        setpgid(0, 0);
        close(go[1]);
        if (fork() == 0) {      /* B: the group's second member */
            pass_byte(ready[1]);
            char c;
            read(go[0], &c, 1);
            _exit(0);
        }
        pass_byte(ready[1]);
        char c;
        read(go[0], &c, 1);
        wait(NULL);
        _exit(0);
    }
    close(go[0]);
    take_byte(ready[0]);
    take_byte(ready[0]);
    pid_t b = -1;
    /* B is A's only child: find it in A's /proc/A/task/A/children */
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)a, (int)a);
    FILE *f = fopen(path, "r");
    if (!f || fscanf(f, "%d", &b) != 1)
        die("children");
    fclose(f);

    out("inherited %s\n", getpriority(PRIO_PROCESS, a) == getpriority(PRIO_PROCESS, 0)
        ? "yes" : "no");
    set("group 7", PRIO_PGRP, a, 7);
    get("A", PRIO_PROCESS, a);
    get("B", PRIO_PROCESS, b);
    get("group", PRIO_PGRP, a);
    set("B 3", PRIO_PROCESS, b, 3);
    get("group lowest", PRIO_PGRP, a);
    show("raw group", (int)syscall(SYS_getpriority, PRIO_PGRP, a));
    stat_fields(b);
    set("B -25", PRIO_PROCESS, b, -25);
    get("B clamped", PRIO_PROCESS, b);
    set("B 40", PRIO_PROCESS, b, 40);
    get("B clamped", PRIO_PROCESS, b);
    stat_fields(b);
    struct { uint32_t size, policy; uint64_t flags; int32_t nice; uint32_t prio;
             uint64_t runtime, deadline, period; } attr = {0};
    show("sched_getattr", (int)syscall(SYS_sched_getattr, b, &attr, sizeof attr, 0));
    out("sched_getattr policy %u nice %d\n", attr.policy, attr.nice);
    get("no process", PRIO_PROCESS, (id_t)-1);
    get("no group", PRIO_PGRP, (id_t)-1);
    set("no group", PRIO_PGRP, (id_t)-1, 0);
    get("no user", PRIO_USER, NO_USER);
    set("no user", PRIO_USER, NO_USER, 0);
    get("which 3", 3, 0);
    set("which -1", -1, 0, 0);

    pid_t c = fork();
    if (c < 0)
        die("fork");
    if (c == 0)
        as_other_user(a);
    int st;
    waitpid(c, &st, 0);
    out("C %s\n", status(st));
    close(go[1]);
    waitpid(a, &st, 0);
    out("A %s\n", status(st));
    return 0;
}
