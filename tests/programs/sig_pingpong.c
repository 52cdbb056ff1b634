/* sig_pingpong [ROUNDS]: two processes bounce SIGUSR1 / SIGUSR2 ROUNDS times
 * (default 10000), with sigprocmask + sigsuspend (no lost wake-ups: each side blocks
 * both signals and only accepts them inside sigsuspend).
 *
 * The parent sends SIGUSR1, the child answers SIGUSR2; both count what they receive.
 * Every 1000 rounds the parent prints a checkpoint; at the end the child prints its
 * count and exits with ROUNDS % 256, the parent prints its count, the child's status,
 * and its CPU time (CLOCK_PROCESS_CPUTIME_ID: deterministic in a simulated host, where
 * it follows the CPU model; anything natively). Exit status 0. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "common.h"

static volatile sig_atomic_t got1, got2;
static void on_usr1(int s) { (void)s; got1++; }
static void on_usr2(int s) { (void)s; got2++; }

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? atol(argv[1]) : 10000;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_usr2;
    sigaction(SIGUSR2, &sa, NULL);
    sigset_t blk, none;
    sigemptyset(&blk);
    sigaddset(&blk, SIGUSR1);
    sigaddset(&blk, SIGUSR2);
    sigemptyset(&none);
    sigprocmask(SIG_BLOCK, &blk, NULL);

    pid_t parent = getpid();
    pid_t c = fork();
    if (c < 0)
        return 100;
    if (c == 0) {
        for (long i = 0; i < rounds; i++) {
            while (got1 <= i)
                sigsuspend(&none);
            if (i == rounds - 1)
                out("child received %ld SIGUSR1\n", (long)got1);
            kill(parent, SIGUSR2);
        }
        _exit((int)(rounds % 256));
    }
    for (long i = 0; i < rounds; i++) {
        kill(c, SIGUSR1);
        while (got2 <= i)
            sigsuspend(&none);
        if ((i + 1) % 1000 == 0)
            out("round %ld\n", i + 1);
    }
    int st;
    waitpid(c, &st, 0);
    out("parent received %ld SIGUSR2\n", (long)got2);
    out("child exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    struct timespec cpu;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
    out("cputime %ld.%09ld\n", (long)cpu.tv_sec, cpu.tv_nsec);
    return 0;
}
