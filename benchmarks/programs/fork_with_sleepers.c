/* (g) Fork N sleepers blocked in pause(), then M fork/_exit/wait4 cycles, then kill
 * and reap the sleepers. Prints its own CLOCK_MONOTONIC timing of the M cycles
 * (meaningful natively only: inside simproc clocks are virtual). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long nsleep = argc > 1 ? atol(argv[1]) : 10;
    long m = argc > 2 ? atol(argv[2]) : 1000;
    pid_t *sleepers = calloc(nsleep ? nsleep : 1, sizeof *sleepers);
    for (long i = 0; i < nsleep; i++) {
        pid_t pid = fork();
        if (pid < 0) { perror("fork sleeper"); return 1; }
        if (pid == 0) {
            for (;;)
                pause();
        }
        sleepers[i] = pid;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < m; i++) {
        pid_t pid = fork();
        if (pid < 0) { perror("fork"); return 1; }
        if (pid == 0)
            _exit(0);
        int status;
        if (wait4(pid, &status, 0, NULL) != pid) { perror("wait4"); return 1; }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    for (long i = 0; i < nsleep; i++)
        kill(sleepers[i], SIGKILL);
    for (long i = 0; i < nsleep; i++) {
        int status;
        if (waitpid(sleepers[i], &status, 0) != sleepers[i]) { perror("waitpid sleeper"); return 1; }
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
            fprintf(stderr, "sleeper %d: bad status %#x\n", sleepers[i], status);
            return 1;
        }
    }
    double us = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3;
    printf("sleepers=%ld cycles=%ld internal_us_per_cycle=%.2f\n", nsleep, m, m ? us / m : 0.0);
    return 0;
}
