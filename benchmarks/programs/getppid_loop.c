/* (a) N emulated calls: getppid() through syscall(2), so no libc caching. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    long sum = 0;
    for (long i = 0; i < n; i++)
        sum += syscall(SYS_getppid);
    return sum == 0 ? 1 : 0; /* a ppid of 0 every time would be a bug */
}
