/* (b) N calls the simulator does not trap: getuid() through syscall(2). */
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    long sum = 0;
    for (long i = 0; i < n; i++)
        sum += syscall(SYS_getuid);
    return sum < 0 ? 1 : 0;
}
