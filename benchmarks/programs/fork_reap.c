/* (c) N cycles of fork + _exit(0) in the child + wait4 in the parent. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000;
    for (long i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) { perror("fork"); return 1; }
        if (pid == 0)
            _exit(0);
        int status;
        if (wait4(pid, &status, 0, NULL) != pid) { perror("wait4"); return 1; }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "child %ld: bad status %#x\n", i, status);
            return 1;
        }
    }
    return 0;
}
