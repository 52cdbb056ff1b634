/* The set-up between fork and exec of a traced program (spawn.py), in C.
 *
 * os.fork of the test process copies its page tables, and the Python code the child then
 * runs touches pages that must be copied once more: most of a spawn's cost. Here the
 * child is a clone(CLONE_VM) of the tracer thread on a stack of its own, which makes the
 * same calls as spawn._child with raw system calls only (it shares the parent's memory
 * and thread-local errno) and reports a failure in memory it shares with the parent.
 * The parent goes on at once and waits for the child's SIGSTOP as before; the memory is
 * given back only once the child has exec'd (its own memory) or died (release()).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#define STACK_SIZE (64 * 1024)
#define MAX_RLIMITS 16
#define AFFINITY_WORDS 16 /* room for 1,024 CPUs */

#define ADDR_NO_RANDOMIZE 0x0040000 /* personality(2) */
#define PTRACE_TRACEME 0
#define PR_SET_NO_NEW_PRIVS 38
#define PR_SET_SECCOMP 22
#define SECCOMP_MODE_FILTER 2
#define CLOSE_FIRST 3
#define CLOSE_LAST ((1 << 20) - 1) /* as spawn._child's closerange */

/* Where the child stopped, if it did (spawn.py turns them into messages). */
enum { STAGE_NONE, STAGE_DUP2, STAGE_CHDIR, STAGE_RLIMIT, STAGE_TRACEME, STAGE_AFFINITY,
       STAGE_NO_NEW_PRIVS, STAGE_SECCOMP, STAGE_EXECVE };

struct kernel_sigaction { /* rt_sigaction(2) as the kernel takes it on x86_64 */
    unsigned long handler, flags, restorer, mask;
};

struct rlimit64_pair { uint64_t soft, hard; };

struct plan {
    const char *path, *cwd;
    char **argv, **envp;
    int fds[3];
    unsigned long fprog; /* address of the filter's struct sock_fprog */
    int cpu;             /* -1: leave the affinity alone */
    int nlimits;
    int resources[MAX_RLIMITS];
    struct rlimit64_pair limits[MAX_RLIMITS];
    volatile int stage, err; /* written by the child before it exits */
};

static inline long raw6(long n, long a, long b, long c, long d, long e, long f) {
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall" : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}
#define raw(n, a, b, c) raw6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)

static __attribute__((noreturn)) void fail(struct plan *p, int stage, long ret) {
    p->err = (int)-ret;
    p->stage = stage;
    for (;;)
        raw(SYS_exit_group, 127, 0, 0);
}

static int child(void *arg) {
    struct plan *p = arg;
    long ret;
    for (int target = 0; target < 3; target++)
        if (p->fds[target] != target &&
            (ret = raw(SYS_dup2, p->fds[target], target, 0)) < 0)
            fail(p, STAGE_DUP2, ret);
    if (raw(SYS_close_range, CLOSE_FIRST, CLOSE_LAST, 0) < 0)
        for (int fd = CLOSE_FIRST; fd <= CLOSE_LAST; fd++)
            raw(SYS_close, fd, 0, 0);
    if (p->cwd != NULL && (ret = raw(SYS_chdir, p->cwd, 0, 0)) < 0)
        fail(p, STAGE_CHDIR, ret);
    /* A program starts with every signal at its default and none blocked (signal(7)):
     * the test ignores SIGPIPE and SIGXFSZ (Python does), and an ignored signal stays
     * ignored across exec. The test's handlers go too: this child shares its memory,
     * so one must never run here. */
    for (int sig = 1; sig <= 64; sig++) {
        struct kernel_sigaction old, dfl = {0, 0, 0, 0};
        if (sig == SIGKILL || sig == SIGSTOP)
            continue;
        if (raw6(SYS_rt_sigaction, sig, 0, (long)&old, 8, 0, 0) < 0)
            continue;
        if (sig == SIGPIPE || sig == SIGXFSZ || old.handler > (unsigned long)SIG_IGN)
            raw6(SYS_rt_sigaction, sig, (long)&dfl, 0, 8, 0, 0);
    }
    unsigned long empty = 0;
    raw6(SYS_rt_sigprocmask, SIG_SETMASK, (long)&empty, 0, 8, 0, 0);
    for (int i = 0; i < p->nlimits; i++)
        if ((ret = raw6(SYS_prlimit64, 0, p->resources[i], (long)&p->limits[i], 0, 0, 0)) < 0)
            fail(p, STAGE_RLIMIT, ret);
    if ((ret = raw6(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0, 0, 0)) < 0)
        fail(p, STAGE_TRACEME, ret);
    raw(SYS_personality, ADDR_NO_RANDOMIZE, 0, 0);
    if (p->cpu >= 0) {
        unsigned long mask[AFFINITY_WORDS] = {0};
        mask[p->cpu / 64] = 1UL << (p->cpu % 64);
        if ((ret = raw(SYS_sched_setaffinity, 0, sizeof mask, mask)) < 0)
            fail(p, STAGE_AFFINITY, ret);
    }
    raw(SYS_kill, raw(SYS_getpid, 0, 0, 0), SIGSTOP, 0);
    if ((ret = raw6(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0)) < 0)
        fail(p, STAGE_NO_NEW_PRIVS, ret);
    if ((ret = raw6(SYS_prctl, PR_SET_SECCOMP, SECCOMP_MODE_FILTER, p->fprog, 0, 0, 0)) < 0)
        fail(p, STAGE_SECCOMP, ret);
    ret = raw(SYS_execve, p->path, p->argv, p->envp);
    fail(p, STAGE_EXECVE, ret);
}

/* ------------------------------------------------------------------ Launch */

typedef struct {
    PyObject_HEAD
    int pid;
    struct plan *plan;
    void *stack;
    PyObject *keep; /* the bytes the plan points into */
} Launch;

static void launch_free(Launch *self) {
    if (self->plan != NULL) {
        PyMem_RawFree(self->plan->argv);
        PyMem_RawFree(self->plan->envp);
        PyMem_RawFree(self->plan);
        self->plan = NULL;
    }
    if (self->stack != NULL) {
        munmap(self->stack, STACK_SIZE);
        self->stack = NULL;
    }
    Py_CLEAR(self->keep);
}

static void launch_dealloc(Launch *self) {
    launch_free(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *launch_release(Launch *self, PyObject *unused) {
    launch_free(self);
    Py_RETURN_NONE;
}

static PyObject *launch_failure(Launch *self, PyObject *unused) {
    if (self->plan == NULL || self->plan->stage == STAGE_NONE)
        Py_RETURN_NONE;
    return Py_BuildValue("(ii)", self->plan->stage, self->plan->err);
}

static PyObject *launch_pid(Launch *self, void *unused) {
    return PyLong_FromLong(self->pid);
}

static PyMethodDef launch_methods[] = {
    {"failure", (PyCFunction)launch_failure, METH_NOARGS,
     "(stage, errno) where the child gave up, or None."},
    {"release", (PyCFunction)launch_release, METH_NOARGS,
     "Give back the child's stack and plan: only once it has exec'd or been reaped."},
    {NULL}};

static PyGetSetDef launch_getset[] = {{"pid", (getter)launch_pid, NULL, "native pid", NULL},
                                      {NULL}};

static PyTypeObject LaunchType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pytest_simproc.trace._spawnc.Launch",
    .tp_basicsize = sizeof(Launch),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = (destructor)launch_dealloc,
    .tp_methods = launch_methods,
    .tp_getset = launch_getset,
};

/* A NULL-terminated array of pointers into the bytes of ``list`` (kept alive by keep). */
static char **pointers(PyObject *list) {
    Py_ssize_t n = PyList_GET_SIZE(list);
    char **out = PyMem_RawCalloc(n + 1, sizeof(char *));
    if (out == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++)
        out[i] = PyBytes_AS_STRING(PyList_GET_ITEM(list, i));
    return out;
}

static int check_bytes_list(PyObject *list, const char *what) {
    if (!PyList_Check(list)) {
        PyErr_Format(PyExc_TypeError, "%s must be a list of bytes", what);
        return -1;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(list); i++)
        if (!PyBytes_Check(PyList_GET_ITEM(list, i))) {
            PyErr_Format(PyExc_TypeError, "%s must be a list of bytes", what);
            return -1;
        }
    return 0;
}

static PyObject *spawn(PyObject *module, PyObject *args) {
    PyObject *path, *argv, *envp, *cwd, *limits;
    int fd0, fd1, fd2, cpu;
    unsigned long fprog;
    if (!PyArg_ParseTuple(args, "SO!O!O(iii)kiO!", &path, &PyList_Type, &argv, &PyList_Type,
                          &envp, &cwd, &fd0, &fd1, &fd2, &fprog, &cpu, &PyList_Type,
                          &limits))
        return NULL;
    if (check_bytes_list(argv, "argv") < 0 || check_bytes_list(envp, "envp") < 0)
        return NULL;
    if (cwd != Py_None && !PyBytes_Check(cwd))
        return PyErr_Format(PyExc_TypeError, "cwd must be bytes or None");
    if (cpu >= AFFINITY_WORDS * 64 || PyList_GET_SIZE(limits) > MAX_RLIMITS)
        return PyErr_Format(PyExc_ValueError, "cpu or rlimits out of range");

    Launch *self = PyObject_New(Launch, &LaunchType);
    if (self == NULL)
        return NULL;
    self->pid = -1;
    self->stack = NULL;
    self->keep = Py_BuildValue("(OOOO)", path, argv, envp, cwd);
    self->plan = PyMem_RawCalloc(1, sizeof(struct plan));
    if (self->keep == NULL || self->plan == NULL) {
        int no_memory = self->keep != NULL;
        Py_DECREF(self);
        return no_memory ? PyErr_NoMemory() : NULL;
    }
    struct plan *p = self->plan;
    p->path = PyBytes_AS_STRING(path);
    p->cwd = cwd == Py_None ? NULL : PyBytes_AS_STRING(cwd);
    p->fds[0] = fd0, p->fds[1] = fd1, p->fds[2] = fd2;
    p->fprog = fprog;
    p->cpu = cpu;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(limits); i++) {
        int resource;
        unsigned long long soft, hard;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(limits, i), "iKK", &resource, &soft, &hard)) {
            Py_DECREF(self);
            return NULL;
        }
        p->resources[i] = resource;
        p->limits[i].soft = soft;
        p->limits[i].hard = hard;
        p->nlimits++;
    }
    p->argv = pointers(argv);
    p->envp = pointers(envp);
    self->stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (self->stack == MAP_FAILED)
        self->stack = NULL;
    if (p->argv == NULL || p->envp == NULL || self->stack == NULL) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    /* No signal handler of the test may run in the child before it resets them. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int pid = clone(child, (char *)self->stack + STACK_SIZE, CLONE_VM | SIGCHLD, p);
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (pid < 0) {
        Py_DECREF(self);
        errno = saved;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    self->pid = pid;
    return (PyObject *)self;
}

static PyMethodDef methods[] = {
    {"spawn", spawn, METH_VARARGS,
     "spawn(path, argv, envp, cwd, (fd0, fd1, fd2), fprog_address, cpu, "
     "[(resource, soft, hard)]) -> Launch: clone a child that sets up and execs."},
    {NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_spawnc", NULL, -1, methods};

PyMODINIT_FUNC PyInit__spawnc(void) {
    if (PyType_Ready(&LaunchType) < 0)
        return NULL;
    return PyModule_Create(&module);
}
