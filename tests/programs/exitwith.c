/* exitwith exit N | exitwith signal SIG: end with exit status N, or by signal number
 * SIG sent to itself with kill(2) (default action). Prints nothing. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "exit") == 0)
        return atoi(argv[2]);
    if (argc == 3 && strcmp(argv[1], "signal") == 0) {
        int sig = atoi(argv[2]);
        signal(sig, SIG_DFL);
        kill(getpid(), sig);
        return 99; /* the signal did not end us */
    }
    fprintf(stderr, "usage: exitwith exit N | exitwith signal SIG\n");
    return 2;
}
