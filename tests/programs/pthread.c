/* pthread: try to start one thread. Prints, after joining it if it started:
 *   "pthread_create 0 joined 42"   (natively; the thread also prints "thread ran" first)
 *   "pthread_create EAGAIN"        (when thread creation is refused)
 * Exit status: pthread_create's return value (0 or the error number). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void *thread_main(void *arg)
{
    static const char msg[] = "thread ran\n";
    (void)arg;
    if (write(1, msg, sizeof msg - 1) < 0)
        return NULL;
    return (void *)42L;
}

int main(void)
{
    pthread_t t;
    char buf[128];
    int n;
    int rc = pthread_create(&t, NULL, thread_main, NULL);
    if (rc == 0) {
        void *ret = NULL;
        int jr = pthread_join(t, &ret);
        n = snprintf(buf, sizeof buf, "pthread_create 0 joined %ld%s\n", (long)ret,
                     jr ? " (join failed)" : "");
    } else {
        const char *name = rc == EAGAIN ? "EAGAIN" : rc == ENOSYS ? "ENOSYS"
                         : rc == EPERM ? "EPERM" : rc == EINVAL ? "EINVAL" : NULL;
        if (name)
            n = snprintf(buf, sizeof buf, "pthread_create %s\n", name);
        else
            n = snprintf(buf, sizeof buf, "pthread_create E#%d\n", rc);
    }
    if (write(1, buf, (size_t)n) != n)
        return 102;
    return rc;
}
