/* wrong_direction: a read of a descriptor not open for reading, and a write of one not
 * open for writing, fail with EBADF at once (read(2), write(2)), whatever the file and
 * however empty or full it is: the read end of an empty pipe written to, its write end
 * read from (LTP's pipe03), the same through readv and writev, a FIFO opened O_WRONLY
 * read from, and an O_PATH descriptor of a FIFO read and written. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include "common.h"

static void report(const char *what, long r)
{
    out("%s %ld %s\n", what, r, r < 0 ? errname(errno) : "");
}

int main(void)
{
    int p[2];
    char buf[4] = "A";
    struct iovec iov = {buf, 1};
    if (pipe(p) < 0)
        die("pipe");
    report("write(read end)", write(p[0], buf, 1));
    report("read(write end)", read(p[1], buf, 1));
    report("writev(read end)", writev(p[0], &iov, 1));
    report("readv(write end)", readv(p[1], &iov, 1));
    char path[] = "/tmp/wrong_direction_XXXXXX";
    if (!mkdtemp(path))
        die("mkdtemp");
    char fifo[64];
    snprintf(fifo, sizeof fifo, "%s/fifo", path);
    if (mkfifo(fifo, 0600) < 0)
        die("mkfifo");
    int rd = open(fifo, O_RDONLY | O_NONBLOCK);      /* a reader, so O_WRONLY opens */
    int wr = open(fifo, O_WRONLY);
    int opath = open(fifo, O_PATH);
    if (rd < 0 || wr < 0 || opath < 0)
        die("open");
    report("read(fifo O_WRONLY)", read(wr, buf, 1));
    report("read(fifo O_PATH)", read(opath, buf, 1));
    report("write(fifo O_PATH)", write(opath, buf, 1));
    unlink(fifo);
    rmdir(path);
    return 0;
}
