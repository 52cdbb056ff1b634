/* ptrace(2) for the tracer's stop path, without ctypes' argument conversion (about
 * 2 us of a 2.5 us request through ctypes, a dozen times per fork + exit + wait4).
 * Optional: setup.py builds it when a C compiler is there; trace/ptrace_ops.py falls
 * back to ctypes otherwise. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <sys/ptrace.h>
#include <sys/types.h>

/* request(req, pid, addr, data) -> ptrace's result; OSError(errno) when it fails.
 * addr and data are integers (addresses, signal numbers, option words). */
static PyObject *request(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    long req, pid, result;
    unsigned long addr, data;
    int err;

    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "request(req, pid, addr, data)");
        return NULL;
    }
    req = PyLong_AsLong(args[0]);
    pid = PyLong_AsLong(args[1]);
    addr = PyLong_AsUnsignedLongMask(args[2]);
    data = PyLong_AsUnsignedLongMask(args[3]);
    if (PyErr_Occurred())
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

static PyMethodDef methods[] = {
    {"request", (PyCFunction)(void (*)(void))request, METH_FASTCALL,
     "request(req, pid, addr, data): ptrace(2); OSError when it fails."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_ptrace", "ptrace(2) requests for the stop path.", -1, methods,
};

PyMODINIT_FUNC PyInit__ptrace(void)
{
    return PyModule_Create(&module);
}
