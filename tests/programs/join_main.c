/* join_main: in a forked child, a second thread joins the child's main thread, which
 * ends with pthread_exit. The join waits on the main thread's tid word, which the
 * kernel clears and wakes at its exit because fork(2) asked it to (glibc's fork passes
 * CLONE_CHILD_CLEARTID, for the new process's only thread). Prints "joined" from the
 * child; the parent exits with the child's status. */
#include <pthread.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_t main_thread;

static void *joiner(void *arg)
{
    (void)arg;
    if (pthread_join(main_thread, NULL) == 0)
        printf("joined\n");
    fflush(stdout);
    return NULL;  /* the last thread: the process exits 0 */
}

int main(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        pthread_t t;
        main_thread = pthread_self();
        pthread_create(&t, NULL, joiner, NULL);
        usleep(10000);  /* the joiner waits first */
        pthread_exit(NULL);
    }
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}
