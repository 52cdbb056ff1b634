/* leader_exit: the main thread ends with pthread_exit (exit(2) of the thread group
 * leader) while a worker goes on: the process lives until the worker's exit(3), and
 * its exit status is the worker's. Natively the leader's death is reported only when
 * the whole group has ended (wait(2)). */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include "common.h"

static void *worker(void *arg)
{
    (void)arg;
    sleep(1);
    out("worker still runs after the main thread ended\n");
    exit(7);
}

int main(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, worker, NULL) != 0)
        return 100;
    out("main thread ends\n");
    pthread_exit(NULL);
}
