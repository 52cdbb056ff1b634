/* Shared by the test programs: out() writes one formatted piece to stdout with a
 * single write(2), unbuffered, so that lines from several processes interleave in the
 * order the processes ran (stdio buffers would reorder them at exit). */
#ifndef SIMPROC_TEST_COMMON_H
#define SIMPROC_TEST_COMMON_H
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2), unused));

static void out(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (write(1, buf, (size_t)n) != n)
        _exit(102);
}
#endif
