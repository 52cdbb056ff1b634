/* unsupported NR: call system call number NR through syscall(2) with six zero
 * arguments and print "OK" when it succeeded, else the errno name ("ENOSYS", ...).
 * Exit status 0 when it succeeded, 1 when it failed, 2 on bad usage. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "common.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: unsupported SYSCALL_NUMBER\n");
        return 2;
    }
    long nr = strtol(argv[1], NULL, 10);
    errno = 0;
    long r = syscall(nr, 0L, 0L, 0L, 0L, 0L, 0L);
    int e = errno;
    if (r == -1) {
        printf("%s\n", errname(e));
        return 1;
    }
    printf("OK\n");
    return 0;
}
