/* ptrace(2) and process_vm_readv/writev(2) for the tracer's stop path, without ctypes'
 * argument conversion (about 2 us of a 2.5 us request through ctypes, a dozen times
 * per fork + exit + wait4) and without a Python wrapper around each request: the
 * requests the stop path makes are functions of their own here, which raise the
 * tracer's PtraceError themselves, and step() makes a turn of the stop loop (resume,
 * wait, the stop's registers) in one call.
 * Optional: setup.py builds it when a C compiler is there; trace/ptrace_ops.py falls
 * back to ctypes otherwise. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/resource.h>
#include <sys/user.h>
#include <sys/wait.h>

#define SIGINFO_SIZE 128

/* set by init(): python-ptrace's PtraceError and struct user_regs_struct type, and
 * the dict wait() keeps each native death's ru_maxrss in */
static PyObject *error_class;
static PyObject *regs_type;
static PyObject *death_maxrss;

/* four integer arguments: two longs, then two words (masked to unsigned long: an
 * address, or -1 as all ones) */
static int four_args(PyObject *const *args, Py_ssize_t nargs, const char *usage,
                     long *a, long *b, unsigned long *c, unsigned long *d)
{
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, usage);
        return -1;
    }
    *a = PyLong_AsLong(args[0]);
    *b = PyLong_AsLong(args[1]);
    *c = PyLong_AsUnsignedLongMask(args[2]);
    *d = PyLong_AsUnsignedLongMask(args[3]);
    return PyErr_Occurred() ? -1 : 0;
}

/* request(req, pid, addr, data) -> ptrace's result; OSError(errno) when it fails.
 * addr and data are integers (addresses, signal numbers, option words). */
static PyObject *request(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    long req, pid, result;
    unsigned long addr, data;
    int err;

    if (four_args(args, nargs, "request(req, pid, addr, data)", &req, &pid, &addr, &data) < 0)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    errno = 0;
    result = ptrace((enum __ptrace_request)req, (pid_t)pid, (void *)addr, (void *)data);
    err = errno;
    Py_END_ALLOW_THREADS
    if (result == -1 && err) {
        errno = err;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    return PyLong_FromLong(result);
}

/* PtraceError("ptrace(REQ, PID) failed: STRERROR", errno=ERR, pid=PID), as
 * ptrace_ops' pure-Python requests raise it */
static PyObject *fail(long req, long pid, int err)
{
    PyObject *message, *kwargs, *exc;

    if (error_class == NULL) {
        errno = err;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    message = PyUnicode_FromFormat("ptrace(%ld, %ld) failed: %s", req, pid, strerror(err));
    kwargs = Py_BuildValue("{s:i,s:l}", "errno", err, "pid", pid);
    exc = NULL;
    if (message != NULL && kwargs != NULL) {
        PyObject *args = PyTuple_Pack(1, message);
        if (args != NULL) {
            exc = PyObject_Call(error_class, args, kwargs);
            Py_DECREF(args);
        }
    }
    Py_XDECREF(message);
    Py_XDECREF(kwargs);
    if (exc != NULL) {
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
        Py_DECREF(exc);
    }
    return NULL;
}

/* one request with the GIL released; 0, or the errno it failed with */
static int call(long req, long pid, void *addr, void *data)
{
    long result;
    int err = 0;

    Py_BEGIN_ALLOW_THREADS
    errno = 0;
    result = ptrace((enum __ptrace_request)req, (pid_t)pid, addr, data);
    if (result == -1 && errno)
        err = errno;
    Py_END_ALLOW_THREADS
    return err;
}

static int pid_and_sig(PyObject *const *args, Py_ssize_t nargs, const char *usage,
                       long *pid, long *sig)
{
    if (nargs < 1 || nargs > 2) {
        PyErr_SetString(PyExc_TypeError, usage);
        return -1;
    }
    *pid = PyLong_AsLong(args[0]);
    *sig = nargs == 2 ? PyLong_AsLong(args[1]) : 0;
    return PyErr_Occurred() ? -1 : 0;
}

static PyObject *resume(long req, PyObject *const *args, Py_ssize_t nargs,
                        const char *usage)
{
    long pid, sig;
    int err;

    if (pid_and_sig(args, nargs, usage, &pid, &sig) < 0)
        return NULL;
    err = call(req, pid, NULL, (void *)sig);
    if (err)
        return fail(req, pid, err);
    Py_RETURN_NONE;
}

/* cont(pid, sig=0): PTRACE_CONT */
static PyObject *cont(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return resume(PTRACE_CONT, args, nargs, "cont(pid, sig=0)");
}

/* syscall(pid, sig=0): PTRACE_SYSCALL, to the next syscall-exit-stop */
static PyObject *syscall_(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return resume(PTRACE_SYSCALL, args, nargs, "syscall(pid, sig=0)");
}

/* ``obj``'s buffer, if it holds a struct user_regs_struct; -1 with an exception if not */
static int regs_view(PyObject *obj, Py_buffer *view, int flags)
{
    if (PyObject_GetBuffer(obj, view, flags) < 0)
        return -1;
    if ((size_t)view->len < sizeof(struct user_regs_struct)) {
        PyBuffer_Release(view);
        PyErr_SetString(PyExc_ValueError, "register buffer too small");
        return -1;
    }
    return 0;
}

/* getregs(pid) -> a new Registers (struct user_regs_struct) */
static PyObject *getregs(PyObject *self, PyObject *pid_obj)
{
    long pid = PyLong_AsLong(pid_obj);
    PyObject *regs;
    Py_buffer view;
    int err;

    if (pid == -1 && PyErr_Occurred())
        return NULL;
    if (regs_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_ptrace.init() was not called");
        return NULL;
    }
    regs = PyObject_CallNoArgs(regs_type);
    if (regs == NULL)
        return NULL;
    if (regs_view(regs, &view, PyBUF_WRITABLE) < 0) {
        Py_DECREF(regs);
        return NULL;
    }
    err = call(PTRACE_GETREGS, pid, NULL, view.buf);
    PyBuffer_Release(&view);
    if (err) {
        Py_DECREF(regs);
        return fail(PTRACE_GETREGS, pid, err);
    }
    return regs;
}

/* setregs(pid, regs): PTRACE_SETREGS from any buffer holding a user_regs_struct */
static PyObject *setregs(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    long pid;
    Py_buffer view;
    int err;

    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "setregs(pid, regs)");
        return NULL;
    }
    pid = PyLong_AsLong(args[0]);
    if (pid == -1 && PyErr_Occurred())
        return NULL;
    if (regs_view(args[1], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    err = call(PTRACE_SETREGS, pid, NULL, view.buf);
    PyBuffer_Release(&view);
    if (err)
        return fail(PTRACE_SETREGS, pid, err);
    Py_RETURN_NONE;
}

/* a request that fills one 64-bit word: PTRACE_GETEVENTMSG, PTRACE_GETSIGMASK */
static PyObject *word(long req, PyObject *pid_obj, void *addr)
{
    long pid = PyLong_AsLong(pid_obj);
    unsigned long value = 0;
    int err;

    if (pid == -1 && PyErr_Occurred())
        return NULL;
    err = call(req, pid, addr, &value);
    if (err)
        return fail(req, pid, err);
    return PyLong_FromUnsignedLong(value);
}

/* geteventmsg(pid): a fork/clone/vfork event's new pid (PTRACE_GETEVENTMSG) */
static PyObject *geteventmsg(PyObject *self, PyObject *pid_obj)
{
    return word(PTRACE_GETEVENTMSG, pid_obj, NULL);
}

/* getsigmask(pid): the stopped thread's blocked set (PTRACE_GETSIGMASK, 8 bytes) */
static PyObject *getsigmask(PyObject *self, PyObject *pid_obj)
{
    return word(PTRACE_GETSIGMASK, pid_obj, (void *)(unsigned long)8);
}

/* getsiginfo(pid) -> the 128 bytes of the stop's siginfo_t (PTRACE_GETSIGINFO) */
static PyObject *getsiginfo(PyObject *self, PyObject *pid_obj)
{
    long pid = PyLong_AsLong(pid_obj);
    char info[SIGINFO_SIZE];
    int err;

    if (pid == -1 && PyErr_Occurred())
        return NULL;
    memset(info, 0, sizeof info);
    err = call(PTRACE_GETSIGINFO, pid, NULL, info);
    if (err)
        return fail(PTRACE_GETSIGINFO, pid, err);
    return PyBytes_FromStringAndSize(info, sizeof info);
}

/* the first two of three arguments: a pid and an address */
static int pid_and_addr(PyObject *const *args, Py_ssize_t nargs, const char *usage,
                        long *pid, unsigned long *addr)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, usage);
        return -1;
    }
    *pid = PyLong_AsLong(args[0]);
    *addr = PyLong_AsUnsignedLongMask(args[1]);
    return PyErr_Occurred() ? -1 : 0;
}

/* putregs(pid, mask, regs): the registers of ``regs`` whose bit is set in ``mask``
 * (bit i: the 8-byte word at offset 8 * i of struct user_regs_struct), one
 * PTRACE_POKEUSER each. A POKEUSER of one register costs about a third of a SETREGS,
 * which writes all 27 (the segment registers and their bases included). */
static PyObject *putregs(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    long pid;
    unsigned long mask;
    Py_buffer view;
    int err = 0;
    size_t words = sizeof(struct user_regs_struct) / sizeof(unsigned long);

    if (pid_and_addr(args, nargs, "putregs(pid, mask, regs)", &pid, &mask) < 0)
        return NULL;
    if (regs_view(args[2], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    for (size_t i = 0; i < words && !err; i++) {
        if (mask & (1UL << i))
            err = call(PTRACE_POKEUSER, pid, (void *)(i * sizeof(unsigned long)),
                       (void *)((unsigned long *)view.buf)[i]);
    }
    PyBuffer_Release(&view);
    if (err)
        return fail(PTRACE_POKEUSER, pid, err);
    Py_RETURN_NONE;
}

/* one process_vm_readv/writev(2) of ``len`` bytes between ``buf`` and ``addr`` in the
 * tracee: the count copied, 0 when nothing could be */
static Py_ssize_t copy(long pid, unsigned long addr, void *buf, Py_ssize_t len, int write)
{
    struct iovec local = {buf, (size_t)len}, remote = {(void *)addr, (size_t)len};
    ssize_t done;

    if (!len)
        return 0;
    done = write ? process_vm_writev((pid_t)pid, &local, 1, &remote, 1, 0)
                 : process_vm_readv((pid_t)pid, &local, 1, &remote, 1, 0);
    return done < 0 ? 0 : done;
}

/* vm_read(pid, addr, size) -> the bytes process_vm_readv(2) could read there (fewer,
 * or none, where the tracee could not read them) */
static PyObject *vm_read(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    long pid;
    unsigned long addr;
    Py_ssize_t size, got;
    PyObject *out;

    if (pid_and_addr(args, nargs, "vm_read(pid, addr, size)", &pid, &addr) < 0)
        return NULL;
    size = PyLong_AsSsize_t(args[2]);
    if (size == -1 && PyErr_Occurred())
        return NULL;
    if (size < 0) {
        PyErr_SetString(PyExc_ValueError, "negative size");
        return NULL;
    }
    out = PyBytes_FromStringAndSize(NULL, size);
    if (out == NULL)
        return NULL;
    got = copy(pid, addr, PyBytes_AS_STRING(out), size, 0);
    if (got != size && _PyBytes_Resize(&out, got) < 0)
        return NULL;
    return out;
}

/* vm_write(pid, addr, data) -> how many bytes process_vm_writev(2) wrote (0 for none) */
static PyObject *vm_write(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    long pid;
    unsigned long addr;
    Py_buffer view;
    Py_ssize_t put;

    if (pid_and_addr(args, nargs, "vm_write(pid, addr, data)", &pid, &addr) < 0)
        return NULL;
    if (PyObject_GetBuffer(args[2], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    put = copy(pid, addr, view.buf, view.len, 1);
    PyBuffer_Release(&view);
    return PyLong_FromSsize_t(put);
}

/* wait4(2) retried on EINTR (no Python: callable with the GIL released): the pid, or
 * -errno */
static pid_t wait_retrying(pid_t who, int *status, int flags, struct rusage *usage)
{
    pid_t pid;

    do {
        pid = wait4(who, status, flags, usage);
    } while (pid < 0 && errno == EINTR);
    return pid < 0 ? -errno : pid;
}

/* a native death's ru_maxrss into init()'s dict under its pid (nothing for a stop);
 * -1 with an exception when it could not be kept */
static int keep_maxrss(pid_t pid, int status, const struct rusage *usage)
{
    PyObject *key, *value;
    int failed;

    if (pid <= 0 || (status & 0xFF) == 0x7F || death_maxrss == NULL)
        return 0;
    key = PyLong_FromLong(pid);
    value = PyLong_FromLong(usage->ru_maxrss);
    failed = key == NULL || value == NULL || PyDict_SetItem(death_maxrss, key, value) < 0;
    Py_XDECREF(key);
    Py_XDECREF(value);
    return failed ? -1 : 0;
}

/* wait(who, flags=0) -> (pid, status): wait4(2), retried on EINTR, with the GIL
 * released; a death's ru_maxrss goes into init()'s dict under its pid (the wait that
 * reports it reaps it: nothing else can read it after). OSError (ChildProcessError for
 * ECHILD) when it fails; (0, 0) for WNOHANG with nothing to report. */
static PyObject *wait_(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    long who, flags;
    struct rusage usage;
    int status = 0;
    pid_t pid;

    if (pid_and_sig(args, nargs, "wait(who, flags=0)", &who, &flags) < 0)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    pid = wait_retrying((pid_t)who, &status, (int)flags, &usage);
    Py_END_ALLOW_THREADS
    if (pid < 0) {
        errno = -pid;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    if (keep_maxrss(pid, status, &usage) < 0)
        return NULL;
    return Py_BuildValue("(ii)", (int)pid, status);
}

/* the stops whose registers the stop path reads first: a seccomp stop
 * (SIGTRAP | PTRACE_EVENT_SECCOMP << 8) and a syscall-exit-stop (SIGTRAP | 0x80, with
 * PTRACE_O_TRACESYSGOOD), as wait(2) statuses */
#define SECCOMP_STOP ((SIGTRAP | PTRACE_EVENT_SECCOMP << 8) << 8 | 0x7F)
#define SYSEXIT_STOP ((SIGTRAP | 0x80) << 8 | 0x7F)

/* the return value register at a syscall-exit stop, as a signed long (PEEKUSER: the
 * one register the call changed that the stop path needs); 0 with errno set when it
 * could not be read */
static long peek_rax(pid_t pid)
{
    errno = 0;
    return ptrace(PTRACE_PEEKUSER, pid, (void *)offsetof(struct user_regs_struct, rax), NULL);
}

/* getrax(pid) -> the signed rax of a stopped tracee (PTRACE_PEEKUSER) */
static PyObject *getrax(PyObject *self, PyObject *pid_obj)
{
    long pid = PyLong_AsLong(pid_obj), rax;
    int err;

    if (pid == -1 && PyErr_Occurred())
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    rax = peek_rax((pid_t)pid);
    err = rax == -1 ? errno : 0;
    Py_END_ALLOW_THREADS
    if (err)
        return fail(PTRACE_PEEKUSER, pid, err);
    return PyLong_FromLong(rax);
}

/* step(how, pid, who, flags) -> (native, status, regs, decoded): the stop loop's turn
 * in one call, with the GIL released once. ``how`` is a resume request (PTRACE_CONT or
 * PTRACE_SYSCALL) with the signal to pass in bits 16 and up, or 0 for none; the
 * request goes to ``pid`` (PtraceError when it fails, before any wait). Then wait(who,
 * flags) as wait() does. At a seccomp stop the registers are read too (a new
 * Registers), and ``decoded`` is the call's six arguments (rdi, rsi, rdx, r10, r8, r9:
 * syscall(2)); at a syscall-exit stop ``regs`` is None and ``decoded`` the call's
 * result (rax, signed); else, or when the read fails (the caller's own read then
 * raises), None and None. */
static PyObject *step(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    long how, pid, req, sig;
    unsigned long who, flags;
    struct rusage usage;
    struct user_regs_struct regs;
    int status = 0, err = 0, have_regs = 0, have_rax = 0;
    long rax = 0;
    pid_t native = 0;
    PyObject *regs_obj, *args_obj, *result;

    if (four_args(args, nargs, "step(how, pid, who, flags)", &how, &pid, &who, &flags) < 0)
        return NULL;
    req = how & 0xFFFF;
    sig = how >> 16;
    if (regs_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_ptrace.init() was not called");
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    if (req) {
        errno = 0;
        if (ptrace((enum __ptrace_request)req, (pid_t)pid, NULL, (void *)sig) == -1 && errno)
            err = errno;
    }
    if (!err) {
        native = wait_retrying((pid_t)who, &status, (int)flags, &usage);
        if (native < 0)
            err = native;   /* negative: the wait's, not the request's */
        else if (native > 0 && status == SECCOMP_STOP)
            have_regs = ptrace(PTRACE_GETREGS, native, NULL, &regs) == 0;
        else if (native > 0 && status == SYSEXIT_STOP) {
            rax = peek_rax(native);
            have_rax = rax != -1 || !errno;
        }
    }
    Py_END_ALLOW_THREADS
    if (err > 0)
        return fail(req, pid, err);
    if (err < 0) {
        errno = -err;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    if (keep_maxrss(native, status, &usage) < 0)
        return NULL;
    if (have_regs) {
        Py_buffer view;

        regs_obj = PyObject_CallNoArgs(regs_type);
        if (regs_obj == NULL)
            return NULL;
        if (regs_view(regs_obj, &view, PyBUF_WRITABLE) < 0) {
            Py_DECREF(regs_obj);
            return NULL;
        }
        memcpy(view.buf, &regs, sizeof regs);
        PyBuffer_Release(&view);
        args_obj = Py_BuildValue("(kkkkkk)", regs.rdi, regs.rsi, regs.rdx, regs.r10,
                                 regs.r8, regs.r9);
        if (args_obj == NULL) {
            Py_DECREF(regs_obj);
            return NULL;
        }
    } else {
        regs_obj = Py_NewRef(Py_None);
        args_obj = have_rax ? PyLong_FromLong(rax) : Py_NewRef(Py_None);
        if (args_obj == NULL) {
            Py_DECREF(regs_obj);
            return NULL;
        }
    }
    result = Py_BuildValue("(iiNN)", (int)native, status, regs_obj, args_obj);
    return result;
}

/* init(PtraceError, Registers[, maxrss dict]): what the requests raise, what getregs
 * makes, where wait() keeps the deaths' ru_maxrss */
static PyObject *init(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 && nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "init(error_class, regs_type[, maxrss])");
        return NULL;
    }
    Py_XSETREF(error_class, Py_NewRef(args[0]));
    Py_XSETREF(regs_type, Py_NewRef(args[1]));
    if (nargs == 3)
        Py_XSETREF(death_maxrss, Py_NewRef(args[2]));
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"request", (PyCFunction)(void (*)(void))request, METH_FASTCALL,
     "request(req, pid, addr, data): ptrace(2); OSError when it fails."},
    {"init", (PyCFunction)(void (*)(void))init, METH_FASTCALL,
     "init(error_class, regs_type): the exception the requests below raise "
     "(error_class(message, errno=, pid=)) and the type getregs returns."},
    {"cont", (PyCFunction)(void (*)(void))cont, METH_FASTCALL, "cont(pid, sig=0)"},
    {"syscall", (PyCFunction)(void (*)(void))syscall_, METH_FASTCALL,
     "syscall(pid, sig=0)"},
    {"getregs", getregs, METH_O, "getregs(pid) -> regs"},
    {"getrax", getrax, METH_O, "getrax(pid) -> rax, signed (PTRACE_PEEKUSER)"},
    {"setregs", (PyCFunction)(void (*)(void))setregs, METH_FASTCALL, "setregs(pid, regs)"},
    {"putregs", (PyCFunction)(void (*)(void))putregs, METH_FASTCALL,
     "putregs(pid, mask, regs): the registers in mask, one POKEUSER each"},
    {"geteventmsg", geteventmsg, METH_O, "geteventmsg(pid) -> int"},
    {"getsigmask", getsigmask, METH_O, "getsigmask(pid) -> int"},
    {"getsiginfo", getsiginfo, METH_O, "getsiginfo(pid) -> 128 bytes"},
    {"step", (PyCFunction)(void (*)(void))step, METH_FASTCALL,
     "step(how, pid, who, flags) -> (native, status, regs, decoded): resume, wait, and "
     "a seccomp stop's registers and arguments or a syscall-exit stop's result"},
    {"wait", (PyCFunction)(void (*)(void))wait_, METH_FASTCALL,
     "wait(who, flags) -> (pid, status): wait4(2); a death's ru_maxrss into init's dict"},
    {"vm_read", (PyCFunction)(void (*)(void))vm_read, METH_FASTCALL,
     "vm_read(pid, addr, size) -> the bytes process_vm_readv could read"},
    {"vm_write", (PyCFunction)(void (*)(void))vm_write, METH_FASTCALL,
     "vm_write(pid, addr, data) -> the count process_vm_writev wrote (0 for none)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_ptrace", "ptrace(2) requests for the stop path.", -1, methods,
};

PyMODINIT_FUNC PyInit__ptrace(void)
{
    return PyModule_Create(&module);
}
