/* Two children write numbered lines into one pipe, with an emulated call (getppid)
 * every 50 lines; the parent copies what it reads to stdout and ends with the CPU
 * time the host charged the children (getrusage(2)) and the virtual clock. The
 * lines' order is the host's schedule: each writer keeps the CPU for a quantum of
 * trapped calls, and the clock moves by bursts of the CPU they were charged.
 * "interleave N stdout": the children write to stdout itself (a terminal the
 * caller drains), the parent only waits for them. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2000;
    int shared = argc > 2 && !strcmp(argv[2], "stdout");
    int p[2];
    if (shared)
        p[0] = -1, p[1] = 1;
    else if (pipe(p))
        return 1;
    for (int c = 0; c < 2; c++) {
        if (fork() == 0) {
            char line[32];
            if (!shared)
                close(p[0]);
            for (int i = 0; i < n; i++) {
                int len = snprintf(line, sizeof line, "%c%05d\n", 'a' + c, i);
                if (write(p[1], line, len) != len)
                    _exit(1);
                if (i % 50 == 0)
                    syscall(SYS_getppid);
            }
            _exit(0);
        }
    }
    if (!shared) {
        close(p[1]);
        static char buf[4096];
        ssize_t r;
        while ((r = read(p[0], buf, sizeof buf)) > 0)
            fwrite(buf, 1, r, stdout);
    }
    int status, ok = 1;
    for (int c = 0; c < 2; c++)
        ok &= wait(&status) > 0 && WIFEXITED(status) && !WEXITSTATUS(status);
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    printf("ok %d children cpu %ld.%06ld+%ld.%06ld s, clock %ld.%09ld\n", ok,
           (long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec, (long)ru.ru_stime.tv_sec,
           (long)ru.ru_stime.tv_usec, (long)now.tv_sec, now.tv_nsec);
    return 0;
}
