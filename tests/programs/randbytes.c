/* randbytes: print the 16 AT_RANDOM bytes and 16 bytes from getrandom(2), in hex:
 *   at_random HEX
 *   getrandom HEX
 * Exit status 0, 1 if getrandom failed. */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/auxv.h>
#include <sys/random.h>

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
    return 0;
}
