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
 * kind one of the KIND_* below (syscalls/probe.py has the same numbers). */
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
#include <unistd.h>

#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

enum { KIND_OTHER, KIND_NEVER_WAITS, KIND_FIFO, KIND_STREAM, KIND_CHAR };

/* devices(7), major 1: null, zero, full, random, urandom never wait (not kmsg) */
static int mem_device_never_waits(dev_t rdev)
{
    unsigned int minor_ = minor(rdev);

    return major(rdev) == 1 && (minor_ == 3 || minor_ == 5 || minor_ == 7 || minor_ == 8
                                || minor_ == 9);
}

static long look_at(int pidfd, int fd, short events)
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
    if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISBLK(st.st_mode))
        kind = KIND_NEVER_WAITS;
    else if (S_ISCHR(st.st_mode))
        kind = mem_device_never_waits(st.st_rdev) ? KIND_NEVER_WAITS : KIND_CHAR;
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
    close(dup);
    return out;
}

static PyObject *look(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    long pidfd, fd, events, out;

    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "look(pidfd, fd, events)");
        return NULL;
    }
    pidfd = PyLong_AsLong(args[0]);
    fd = PyLong_AsLong(args[1]);
    events = PyLong_AsLong(args[2]);
    if (PyErr_Occurred())
        return NULL;
    if (fd < 0 || fd > INT_MAX)
        return PyLong_FromLong(-EBADF);
    Py_BEGIN_ALLOW_THREADS
    out = look_at((int)pidfd, (int)fd, (short)events);
    Py_END_ALLOW_THREADS
    return PyLong_FromLong(out);
}

static PyMethodDef methods[] = {
    {"look", (PyCFunction)(void (*)(void))look, METH_FASTCALL,
     "look(pidfd, fd, events) -> -errno, or revents | kind << 16 | nonblocking << 20"},
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
