/* (l) N write(2)s of a 64-byte line to TARGET: "pipe" (a child drains it), "null"
 * (/dev/null), "file" (a regular file, then removed), "pty" (raw: a child drains the
 * master) or "tty" (a pty as opened, OPOST and ONLCR on: 65 bytes a line reach the
 * master). Prints "lines=N" once the reader, if any, has read every byte. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static long drain(int fd)
{
    static char buf[65536];
    long total = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        total += n;
    return total;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    const char *target = argc > 2 ? argv[2] : "pipe";
    char line[64];
    memset(line, 'x', sizeof line - 1);
    line[sizeof line - 1] = '\n';
    int out, in = -1;
    pid_t reader = -1;
    char path[] = "/tmp/write_lines.XXXXXX";
    if (!strcmp(target, "pipe")) {
        int p[2];
        if (pipe(p)) { perror("pipe"); return 1; }
        in = p[0], out = p[1];
    } else if (!strcmp(target, "pty") || !strcmp(target, "tty")) {
        int master = posix_openpt(O_RDWR | O_NOCTTY);
        if (master < 0 || grantpt(master) || unlockpt(master)) { perror("pty"); return 1; }
        out = open(ptsname(master), O_WRONLY | O_NOCTTY);
        if (out < 0) { perror("open pts"); return 1; }
        struct termios t;
        tcgetattr(out, &t);
        if (!strcmp(target, "pty"))
            cfmakeraw(&t);   /* bytes as written */
        else
            t.c_oflag |= OPOST | ONLCR;   /* each "\n" reaches the master as "\r\n" */
        tcsetattr(out, TCSANOW, &t);
        in = master;
    } else if (!strcmp(target, "null")) {
        out = open("/dev/null", O_WRONLY);
    } else if (!strcmp(target, "file")) {
        out = mkstemp(path);
        unlink(path);
    } else {
        fprintf(stderr, "unknown target %s\n", target);
        return 2;
    }
    if (out < 0) { perror("open"); return 1; }
    if (in >= 0) {
        reader = fork();
        if (reader < 0) { perror("fork"); return 1; }
        if (reader == 0) {
            close(out);
            long want = n * (long)(sizeof line + !strcmp(target, "tty")), got = 0;
            static char buf[65536];
            /* a pty's master never sees end of file while the slave is open: count */
            while (got < want) {
                ssize_t r = read(in, buf, sizeof buf);
                if (r <= 0) break;
                got += r;
            }
            if (strcmp(target, "pty") && strcmp(target, "tty"))
                got += drain(in);
            _exit(got == want ? 0 : 3);
        }
        close(in);
    }
    for (long i = 0; i < n; i++)
        if (write(out, line, sizeof line) != (ssize_t)sizeof line) { perror("write"); return 1; }
    close(out);
    int status = 0;
    if (reader > 0 && (waitpid(reader, &status, 0) != reader || status != 0)) {
        fprintf(stderr, "reader status %d\n", status);
        return 1;
    }
    printf("lines=%ld\n", n);
    return 0;
}
