/* Real time leaking in: counts loop iterations until the machine's clock has ticked 20
 * times (the user time of /proc/stat's first line, the machine's CPU time in jiffies, is
 * not the host's to simulate) and prints the count. The host's virtual time cannot fix this: two runs
 * print different counts (what --simproc-verify is there to catch). */
#include "common.h"
#include <fcntl.h>

static unsigned long user_jiffies(void)
{
    char buf[256];
    int fd = open("/proc/stat", O_RDONLY);
    if (fd < 0)
        die("open /proc/stat");
    ssize_t n = read(fd, buf, sizeof buf - 1);
    if (n < 0)
        die("read /proc/stat");
    buf[n] = '\0';
    close(fd);
    unsigned long user = 0;
    if (sscanf(buf, "cpu %lu", &user) != 1)
        die("parse /proc/stat");
    return user;
}

int main(void)
{
    unsigned long first = user_jiffies(), count = 0;
    while (user_jiffies() < first + 20)
        count++;
    out("%lu iterations\n", count);
    return 0;
}
