/* sysinfo: what sysinfo(2) says against /proc/uptime and /proc/meminfo (proc(5)).
 *
 * Without arguments, prints whether its uptime is /proc/uptime's rounded up to a whole
 * second (or one more, a second may have passed between the reads) and whether its RAM
 * and swap totals are /proc/meminfo's: "yes" on any machine.
 * With "exact" (for a host, where time is virtual): sleeps 2.5 s, starts a child that
 * waits, and prints the uptime, the three loads and the task count; then the child
 * enters a time namespace whose CLOCK_BOOTTIME is 100 s ahead (unshare(2)
 * CLONE_NEWTIME, /proc/self/timens_offsets) and forks a grandchild, which prints its
 * uptime; the parent's own is unchanged. Exit status 0. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/sysinfo.h>
#include "common.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x80
#endif

static unsigned long long meminfo_kb(const char *key)
{
    char line[256];
    size_t len = strlen(key);
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f)
        die("meminfo");
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, len)) {
            fclose(f);
            return strtoull(line + len, NULL, 10);
        }
    die("meminfo key");
}

static long proc_uptime_ceil(void)
{
    long sec, hundredths;
    FILE *f = fopen("/proc/uptime", "r");
    if (!f || fscanf(f, "%ld.%ld", &sec, &hundredths) != 2)
        die("uptime");
    fclose(f);
    return sec + (hundredths != 0);
}

static void exact(void)
{
    struct timespec ts = {2, 500000000};
    int ready[2], go[2];
    nanosleep(&ts, NULL);
    if (pipe(ready) != 0 || pipe(go) != 0)
        die("pipe");
    pid_t child = fork();
    if (child == 0) {
        pass_byte(ready[1]);
        take_byte(go[0]);
        if (unshare(CLONE_NEWTIME) != 0)
            die("unshare");
        int fd = open("/proc/self/timens_offsets", O_WRONLY);
        if (fd < 0 || dprintf(fd, "%d 100 0", CLOCK_BOOTTIME) < 0)
            die("timens_offsets");
        close(fd);
        if (fork() == 0) {
            struct sysinfo si;
            sysinfo(&si);
            out("in namespace uptime %ld\n", si.uptime);
            _exit(0);
        }
        wait(NULL);
        _exit(0);
    }
    take_byte(ready[0]);
    struct sysinfo si;
    if (sysinfo(&si) != 0)
        die("sysinfo");
    out("uptime %ld loads %lu %lu %lu procs %u\n", si.uptime, si.loads[0], si.loads[1],
        si.loads[2], si.procs);
    pass_byte(go[1]);
    wait(NULL);
    sysinfo(&si);
    out("uptime %ld procs %u\n", si.uptime, si.procs);
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "exact")) {
        exact();
        return 0;
    }
    struct sysinfo si;
    long before = proc_uptime_ceil();
    if (sysinfo(&si) != 0)
        die("sysinfo");
    out("uptime as /proc/uptime: %s\n",
        si.uptime >= before && si.uptime <= before + 1 ? "yes" : "no");
    out("ram as /proc/meminfo: %s\n",
        (unsigned long long)si.totalram * si.mem_unit / 1024 == meminfo_kb("MemTotal:")
        ? "yes" : "no");
    out("swap as /proc/meminfo: %s\n",
        (unsigned long long)si.totalswap * si.mem_unit / 1024 == meminfo_kb("SwapTotal:")
        ? "yes" : "no");
    return 0;
}
