/* Writes to a pty that the host must still decide: a writer the terminal makes wait
 * and one that writes to a hung-up terminal (termios(3), pty(7)). The same lines
 * natively and in a host.
 *   blocked MODE: a child writes 1,000 numbered 64-byte lines to the slave, more than
 *            the terminal holds, while the reader of the master sleeps 0.2 s first;
 *            MODE "cooked" (OPOST, ONLCR: 65 bytes a line reach the master) or "raw".
 *            Every write returns its 64 bytes and the lines arrive whole, in order.
 *   hungup:  a session leader whose controlling terminal is the slave waits in
 *            sigsuspend; the master's close sends it SIGHUP, after which its write to
 *            the slave fails with EIO, as does the driver's own (no signal for it). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include "common.h"

#define LINES 1000

static int open_master(const char **name)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) || unlockpt(master))
        die("posix_openpt");
    *name = ptsname(master);
    return master;
}

static int blocked(const char *mode)
{
    const char *name;
    int master = open_master(&name);
    int cooked = !strcmp(mode, "cooked");
    int slave = open(name, O_WRONLY | O_NOCTTY);
    if (slave < 0)
        die("open slave");
    struct termios t;
    if (tcgetattr(slave, &t))
        die("tcgetattr");
    if (cooked)
        t.c_oflag |= OPOST | ONLCR;
    else
        cfmakeraw(&t);
    if (tcsetattr(slave, TCSANOW, &t))
        die("tcsetattr");
    pid_t writer = fork();
    if (writer < 0)
        die("fork");
    if (writer == 0) {
        char line[64];
        close(master);
        for (int i = 0; i < LINES; i++) {
            memset(line, 'a' + i % 26, sizeof line);
            snprintf(line, 6, "%05d", i);
            line[5] = ' ';
            line[63] = '\n';
            if (write(slave, line, sizeof line) != (ssize_t)sizeof line)
                _exit(1);
        }
        _exit(0);
    }
    close(slave);
    struct timespec nap = {0, 200000000};
    nanosleep(&nap, NULL);
    size_t per_line = cooked ? 65 : 64, want = LINES * per_line, got = 0;
    static char buf[LINES * 65];
    while (got < want) {
        ssize_t n = read(master, buf + got, want - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    int in_order = got == want;
    for (int i = 0; in_order && i < LINES; i++) {
        char want_line[8];
        snprintf(want_line, sizeof want_line, "%05d ", i);
        const char *at = buf + (size_t)i * per_line;
        in_order = !memcmp(at, want_line, 6) && at[6] == 'a' + i % 26
                   && !memcmp(at + 63, cooked ? "\r\n" : "\n", cooked ? 2 : 1);
    }
    int status;
    if (waitpid(writer, &status, 0) != writer)
        die("waitpid");
    out("writer: %s, reader: %zu bytes, lines %s\n",
        WIFEXITED(status) && !WEXITSTATUS(status) ? "every write whole" : "a short write",
        got, in_order ? "whole and in order" : "wrong");
    return 0;
}

static volatile sig_atomic_t hups;

static void on_hup(int sig)
{
    (void)sig;
    hups++;
}

static int hungup(void)
{
    const char *name;
    int master = open_master(&name);
    int own = open(name, O_WRONLY | O_NOCTTY);
    int ready[2];
    if (own < 0 || pipe(ready))
        die("open slave");
    pid_t leader = fork();
    if (leader < 0)
        die("fork");
    if (leader == 0) {
        sigset_t hup, old;
        sigemptyset(&hup);
        sigaddset(&hup, SIGHUP);
        sigprocmask(SIG_BLOCK, &hup, &old);
        struct sigaction sa = {0};
        sa.sa_handler = on_hup;
        sigaction(SIGHUP, &sa, NULL);
        close(master);
        close(own);
        if (setsid() < 0)
            die("setsid");
        int slave = open(name, O_RDWR);   /* a leader's open takes it as its terminal */
        if (slave < 0)
            die("open slave");
        pass_byte(ready[1]);
        while (!hups)
            sigsuspend(&old);
        ssize_t n = write(slave, "x", 1);
        out("leader: SIGHUP %d, write %s\n", (int)hups, n < 0 ? errname(errno) : "ok");
        _exit(0);
    }
    take_byte(ready[0]);
    close(master);
    int st;
    if (waitpid(leader, &st, 0) != leader)
        die("waitpid");
    ssize_t n = write(own, "x", 1);
    out("driver: write %s, leader %s\n", n < 0 ? errname(errno) : "ok", status(st));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 2 && !strcmp(argv[1], "blocked"))
        return blocked(argv[2]);
    if (argc > 1 && !strcmp(argv[1], "hungup"))
        return hungup();
    out("usage: ptywrite blocked cooked|raw | hungup\n");
    return 2;
}
