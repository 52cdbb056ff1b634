/* Harness helper, not a workload: rusage_wrap OUTFILE PROGRAM [ARGS...]
 * Runs PROGRAM, waits for it, writes "maxrss_kb utime_s stime_s" of PROGRAM and the
 * descendants it reaped to OUTFILE, and exits with PROGRAM's status (128+signal when
 * killed). run.py uses it because a child forked from the Python harness would report
 * the harness's own resident set as its max RSS (the high-water mark survives execve). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: rusage_wrap OUTFILE PROGRAM [ARGS...]\n");
        return 2;
    }
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 2; }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        perror(argv[2]);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) != pid) { perror("wait4"); return 2; }
    FILE *f = fopen(argv[1], "w");
    if (f) {
        fprintf(f, "%ld %ld.%06ld %ld.%06ld\n", ru.ru_maxrss, (long)ru.ru_utime.tv_sec,
                (long)ru.ru_utime.tv_usec, (long)ru.ru_stime.tv_sec, (long)ru.ru_stime.tv_usec);
        fclose(f);
    }
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}
