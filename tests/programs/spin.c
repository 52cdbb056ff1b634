/* spin: print "spinning", make one last system call (getpid), then loop forever
 * without any system call. Used for the watchdog test; never exits by itself. */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
    static const char msg[] = "spinning\n";
    if (write(1, msg, sizeof msg - 1) < 0)
        return 1;
    syscall(SYS_getpid);
    volatile unsigned long n = 0;
    for (;;)
        n++;
}
