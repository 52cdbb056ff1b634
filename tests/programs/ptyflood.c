/* ptyflood: a child writes LINES short lines to a pty's slave, one write(2) each, far
 * more than the terminal holds, while its parent reads the master slowly (a pause
 * every 64 reads), as pexpect reads a chatty program: each blocking write of the child
 * must return its whole count once the parent made room, however little room POLLOUT
 * promised (ONLCR turns each "\n" into "\r\n"). The parent checks every line came, in
 * order, then reaps the child. */
#include <pty.h>
#include <stdlib.h>
#include "common.h"

#define LINES 20000

int main(void)
{
    int master, slave;
    if (openpty(&master, &slave, NULL, NULL, NULL) < 0)
        die("openpty");
    pid_t child = fork();
    if (child < 0)
        die("fork");
    if (child == 0) {
        close(master);
        for (int i = 0; i < LINES; i++) {
            char line[32];
            int n = snprintf(line, sizeof line, "line %05d\n", i);
            if (write(slave, line, (size_t)n) != n)
                _exit(3);
        }
        _exit(0);
    }
    close(slave);
    static char seen[LINES * 12 + 4096];
    size_t len = 0;
    struct timespec pause = {0, 200000};
    for (int reads = 1;; reads++) {
        if (len > LINES * 12)
            die("more output than written");
        ssize_t n = read(master, seen + len, 100);
        if (n < 0 && errno == EIO)
            break;  /* the child's side is closed and everything was read */
        if (n <= 0)
            die("read");
        len += (size_t)n;
        if (reads % 64 == 0)
            nanosleep(&pause, NULL);
    }
    int in_order = 1;
    for (int i = 0; i < LINES && in_order; i++) {
        char line[32];
        snprintf(line, sizeof line, "line %05d\r\n", i);
        in_order = len >= (size_t)(i + 1) * 12 && !memcmp(seen + i * 12, line, 12);
    }
    out("read %zu bytes, lines %s\n", len, in_order ? "in order" : "garbled");
    int wstatus;
    if (waitpid(child, &wstatus, 0) != child)
        die("waitpid");
    out("writer %s\n", status(wstatus));
    return 0;
}
