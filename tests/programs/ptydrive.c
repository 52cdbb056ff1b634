/* ptydrive SHELL STEP...: a terminal's user, for a shell's job control. SHELL runs
 * as `SHELL -i` in a forkpty(3) child (PS1 "@> ", TERM dumb); each STEP is "SEND\tUNTIL":
 * SEND is typed on the master, then everything the terminal shows is copied to
 * stdout (without carriage returns) until UNTIL has been shown. "~SEND" waits
 * a second first. Then the rest is shown until the terminal's last user is gone
 * (EIO), and the shell is reaped. */
#include <poll.h>
#include <pty.h>
#include <stdlib.h>
#include "common.h"

static int master;
static char shown[65536];
static size_t len;

/* copy what the terminal shows until ``until`` (NULL: until EIO) */
static void show_until(const char *until)
{
    size_t start = len;
    for (;;) {
        shown[len] = 0;
        if (until && strstr(shown + start, until))
            return;
        struct pollfd p = {.fd = master, .events = POLLIN};
        if (poll(&p, 1, 20000) != 1)
            die("poll: the terminal stayed quiet");
        char buf[512];
        ssize_t n = read(master, buf, sizeof buf);
        if (n <= 0 && !until)
            return;
        if (n <= 0)
            die("read master");
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] != '\r' && len < sizeof shown - 1)
                shown[len++] = buf[i];
        char *from = buf;
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] == '\r') {
                if (&buf[i] > from && write(1, from, &buf[i] - from) < 0)
                    die("write");
                from = &buf[i] + 1;
            }
        if (buf + n > from && write(1, from, buf + n - from) < 0)
            die("write");
    }
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    setenv("PS1", "@> ", 1);
    setenv("TERM", "dumb", 1);
    pid_t child = forkpty(&master, NULL, NULL, NULL);
    if (child < 0)
        die("forkpty");
    if (child == 0) {
        execl(argv[1], argv[1], "--norc", "--noprofile", "-i", (char *)NULL);
        _exit(127);
    }
    show_until("@> ");
    for (int i = 2; i < argc; i++) {
        char *send = argv[i], *until = strchr(send, '\t');
        if (!until)
            return 2;
        *until++ = 0;
        if (*send == '~') {
            send++;
            struct timespec pause = {1, 0};
            nanosleep(&pause, NULL);
        }
        size_t n = strlen(send);
        if (write(master, send, n) != (ssize_t)n)
            die("write master");
        show_until(until);
    }
    show_until(NULL);
    close(master);
    int st;
    waitpid(child, &st, 0);
    out("\ndriver: shell %s\n", status(st));
    return 0;
}
