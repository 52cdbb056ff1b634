/* One read of a pipe whose writer has finished, and one non-blocking write of 10,000
 * bytes to a stream socket: natively each moves everything (a quiet machine); both may
 * legally move less (read(2), pipe(7), send(2)), which chaos mode draws. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    int p[2], sv[2];
    char buf[100];
    static char big[10000];
    if (pipe(p) || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
        return 1;
    pid_t child = fork();
    if (child == 0) {
        const char msg[] = "hello, partial world";
        _exit(write(p[1], msg, sizeof msg - 1) == sizeof msg - 1 ? 0 : 1);
    }
    close(p[1]);
    int status;
    waitpid(child, &status, 0);              /* every byte is in the pipe now */
    ssize_t n = read(p[0], buf, sizeof buf);
    printf("read %zd\n", n);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    memset(big, 'x', sizeof big);
    ssize_t w = write(sv[0], big, sizeof big);
    printf("write %zd\n", w);
    ssize_t total = w, got;
    while (total > 0 && (got = read(sv[1], big, sizeof big)) > 0)
        total -= got;
    printf("received %s\n", total == 0 ? "all" : "short");
    return 0;
}
