/* The host's look at one descriptor of a program, in one call without the GIL.
 *
 * Every write(2) and read(2) of a program stops, and the host must know whether the
 * call can block before it lets it run (syscalls/io.py). Most never do: a line to a
 * pipe with room, a block of a regular file. Taking a duplicate (pidfd_getfd(2)),
 * its fstat, its flags, a poll and a close from Python cost more than the stop itself;
 * here they are five system calls. The duplicate is closed before returning, so the
 * host never holds the program's file open (a reader's end of file, a peer's hang-up
 * stay the program's to cause).
 *
 * look(pidfd, fd, events) -> int: -errno when the descriptor cannot be duplicated
 * (EBADF: not open), else revents | kind << 16 | O_NONBLOCK set << 20, where revents
 * is a poll(2) with no timeout for ``events`` (0 for a file that never waits) and
 * kind one of the KIND_* below (syscalls/probe.py has the same numbers); a
 * description not open for the direction of ``events`` is KIND_NEVER_WAITS (EBADF).
 *
 * look(pidfd, fd, POLLOUT, pid, address, count, refused, masters) looks at the
 * descriptor of a blocking write(2) of ``count`` bytes at ``address`` (in process
 * ``pid``) to a pty, slave or master, that polls writable and not hung up. POLLOUT
 * means one byte of room (n_tty_poll: write room > 0), and room is taken by the
 * flip buffers' allocations, not by bytes: a write without output processing is one
 * request of at most TTY_BUFFER_PAGE (1,792 bytes with 4 KiB pages), which is
 * granted whole while there is room (tty_buffer.c), so such a line surely fits:
 * PTY_FITS is set and the program runs it natively. That needs no OPOST on the
 * terminal, no echo (ECHO, ECHONL: the line discipline's own writes to the same
 * buffer) and no IXON (a ^S typed meanwhile would stop the output); a master's own
 * line is always raw. With OPOST a line that had room may
 * still sleep half way at its "\r\n", so the write itself is the only exact look:
 * it is made as the host would make it (io.py _send_from_host), through the
 * duplicate made non-blocking for the call, and the answer is KIND_WRITTEN |
 * written << 24 when a byte or more went. Neither for the device ``refused``
 * (makedev; the caller's terminal when job control may stop it) nor for a master
 * unless ``masters`` (the model signals for what is typed on some master): those
 * are KIND_CHAR. */
#define _GNU_SOURCE
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <termios.h>
#include <unistd.h>

#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

enum { KIND_OTHER, KIND_NEVER_WAITS, KIND_FIFO, KIND_STREAM, KIND_CHAR, KIND_PTY,
       KIND_WRITTEN };

/* at most this much is written through the duplicate (a line; more takes the host's
 * full path) */
#define PUT_MAX 4096
/* one flip buffer request, granted whole while the terminal has room (see above) */
#define PTY_RAW_FITS 1792
#define PTY_FITS (1L << 21)

struct put {
    pid_t pid;
    unsigned long address;
    size_t count;
    dev_t refused;
    int masters;
};

/* devices(7), major 1: null, zero, full, random, urandom never wait (not kmsg) */
static int mem_device_never_waits(dev_t rdev)
{
    unsigned int minor_ = minor(rdev);

    return major(rdev) == 1 && (minor_ == 3 || minor_ == 5 || minor_ == 7 || minor_ == 8
                                || minor_ == 9);
}

/* devices.txt: Unix98 pty slaves are majors 136-143; /dev/ptmx (5:2) opens a master */
static int is_pty_master(dev_t rdev)
{
    return major(rdev) == 5 && minor(rdev) == 2;
}

static int is_pty(dev_t rdev)
{
    return (major(rdev) >= 136 && major(rdev) <= 143) || is_pty_master(rdev);
}

/* A read (POLLIN) or write (POLLOUT) may use a description opened with ``flags``:
 * else it fails with EBADF at once, whatever the file (read(2), write(2): "not open
 * for reading/writing"; O_PATH for neither), so it never waits. */
static int opened_for(int flags, short events)
{
    int mode = flags & O_ACCMODE;

    if (flags & O_PATH)
        return !(events & (POLLIN | POLLOUT));
    return !((events & POLLIN) && mode == O_WRONLY) && !((events & POLLOUT) && mode == O_RDONLY);
}

/* the write of ``put`` through ``dup`` (whose flags are ``flags``) without sleeping:
 * the count written, or -1 */
static ssize_t put_through(int dup, int flags, const struct put *put)
{
    char buf[PUT_MAX];
    struct iovec local = {buf, put->count};
    struct iovec remote = {(void *)put->address, put->count};
    ssize_t n;

    if (process_vm_readv(put->pid, &local, 1, &remote, 1, 0) != (ssize_t)put->count)
        return -1;
    if (fcntl(dup, F_SETFL, flags | O_NONBLOCK) < 0)
        return -1;
    n = write(dup, buf, put->count);
    fcntl(dup, F_SETFL, flags);
    return n;
}

static long look_at(int pidfd, int fd, short events, const struct put *put)
{
    struct stat st;
    struct pollfd pfd;
    int dup, kind, flags, type = 0;
    socklen_t len = sizeof type;
    long out;

    dup = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
    if (dup < 0)
        return -errno;
    if (fstat(dup, &st) < 0 || (flags = fcntl(dup, F_GETFL)) < 0) {
        out = -errno;
        close(dup);
        return out;
    }
    if (!opened_for(flags, events)
        || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISBLK(st.st_mode))
        kind = KIND_NEVER_WAITS;
    else if (S_ISCHR(st.st_mode))
        kind = mem_device_never_waits(st.st_rdev) ? KIND_NEVER_WAITS
               : is_pty(st.st_rdev) ? KIND_PTY : KIND_CHAR;
    else if (S_ISFIFO(st.st_mode))
        kind = KIND_FIFO;
    else if (S_ISSOCK(st.st_mode)
             && getsockopt(dup, SOL_SOCKET, SO_TYPE, &type, &len) == 0
             && type == SOCK_STREAM)
        kind = KIND_STREAM;
    else
        kind = KIND_OTHER;
    out = (long)kind << 16 | (long)((flags & O_NONBLOCK) != 0) << 20;
    if (kind != KIND_NEVER_WAITS) {
        pfd.fd = dup;
        pfd.events = events;
        pfd.revents = 0;
        if (poll(&pfd, 1, 0) > 0)
            out |= (unsigned short)pfd.revents;
    }
    if (put != NULL && kind == KIND_PTY) {
        if (st.st_rdev == put->refused || (is_pty_master(st.st_rdev) && !put->masters))
            out = (out & ~(0xFL << 16)) | (long)KIND_CHAR << 16;
        else if (!(flags & O_NONBLOCK) && (out & POLLOUT)
                 && !(out & (POLLHUP | POLLERR | POLLNVAL))
                 && put->count > 0 && put->count <= PUT_MAX) {
            struct termios t;
            ssize_t n;

            if (put->count <= PTY_RAW_FITS
                && (is_pty_master(st.st_rdev)
                    || (tcgetattr(dup, &t) == 0 && !(t.c_oflag & OPOST)
                        && !(t.c_lflag & (ECHO | ECHONL)) && !(t.c_iflag & IXON)))) {
                out |= PTY_FITS;
            } else if ((n = put_through(dup, flags, put)) > 0) {
                out = (long)KIND_WRITTEN << 16 | (long)n << 24;
            }
        }
    }
    close(dup);
    return out;
}

static PyObject *look(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    long pidfd, fd, events, out;
    struct put put, *putp = NULL;

    if (nargs != 3 && nargs != 8) {
        PyErr_SetString(PyExc_TypeError,
                        "look(pidfd, fd, events[, pid, address, count, refused, masters])");
        return NULL;
    }
    pidfd = PyLong_AsLong(args[0]);
    fd = PyLong_AsLong(args[1]);
    events = PyLong_AsLong(args[2]);
    if (nargs == 8) {
        put.pid = (pid_t)PyLong_AsLong(args[3]);
        put.address = PyLong_AsUnsignedLongMask(args[4]);
        put.count = (size_t)PyLong_AsUnsignedLongMask(args[5]);
        put.refused = (dev_t)PyLong_AsUnsignedLongLongMask(args[6]);
        put.masters = PyObject_IsTrue(args[7]);
        putp = &put;
    }
    if (PyErr_Occurred())
        return NULL;
    if (fd < 0 || fd > INT_MAX)
        return PyLong_FromLong(-EBADF);
    Py_BEGIN_ALLOW_THREADS
    out = look_at((int)pidfd, (int)fd, (short)events, putp);
    Py_END_ALLOW_THREADS
    return PyLong_FromLong(out);
}

static PyMethodDef methods[] = {
    {"look", (PyCFunction)(void (*)(void))look, METH_FASTCALL,
     "look(pidfd, fd, events[, pid, address, count, refused, masters]) -> -errno, or "
     "revents | kind << 16 | nonblocking << 20, or KIND_WRITTEN << 16 | written << 24"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_fdlook", "A program's descriptor looked at in one call.", -1,
    methods,
};

PyMODINIT_FUNC PyInit__fdlook(void)
{
    return PyModule_Create(&module);
}
