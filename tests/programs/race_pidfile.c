/* A start-up race: the child writes its pidfile, the parent reads it without waiting
 * for it. Natively either may win. Prints "pidfile ok <pid>" or "pidfile missing";
 * exits 0 when the parent saw the file, 1 otherwise. Run in an empty directory. */
#include "common.h"
#include <fcntl.h>
#include <stdlib.h>

int main(void)
{
    unlink("race.pid");
    pid_t child = fork();
    if (child < 0)
        die("fork");
    if (child == 0) {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%d\n", (int)getpid());
        int fd = open("race.pid", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || write(fd, buf, (size_t)n) != n)
            _exit(2);
        close(fd);
        _exit(0);
    }
    char buf[32] = "";
    int fd = open("race.pid", O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    int status;
    waitpid(child, &status, 0);
    if (n > 0 && atoi(buf) == child) {
        out("pidfile ok %d\n", (int)child);
        return 0;
    }
    out("pidfile missing\n");
    return 1;
}
