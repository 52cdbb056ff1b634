/* randbytes: print the 16 AT_RANDOM bytes, 16 bytes from getrandom(2) and 16 from each
 * random device (/dev/urandom opened with open(2), /dev/random with openat(2)), in hex:
 *   at_random HEX
 *   getrandom HEX
 *   urandom HEX
 *   random HEX
 * Exit status 0, 1 if a call failed. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/auxv.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

static void hex(const char *label, const unsigned char *p, size_t n)
{
    printf("%s ", label);
    for (size_t i = 0; i < n; i++)
        printf("%02x", p[i]);
    printf("\n");
}

int main(void)
{
    const unsigned char *at = (const unsigned char *)getauxval(AT_RANDOM);
    unsigned char buf[16];
    if (at)
        hex("at_random", at, 16);
    else
        printf("at_random none\n");
    if (getrandom(buf, sizeof buf, 0) != (ssize_t)sizeof buf) {
        perror("getrandom");
        return 1;
    }
    hex("getrandom", buf, sizeof buf);
    int fds[2] = {(int)syscall(SYS_open, "/dev/urandom", O_RDONLY),
                  openat(AT_FDCWD, "/dev/random", O_RDONLY)};
    for (int i = 0; i < 2; i++) {
        if (fds[i] < 0 || read(fds[i], buf, sizeof buf) != (ssize_t)sizeof buf) {
            perror(i ? "/dev/random" : "/dev/urandom");
            return 1;
        }
        close(fds[i]);
        hex(i ? "random" : "urandom", buf, sizeof buf);
    }
    return 0;
}
