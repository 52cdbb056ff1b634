/* clone_settid: clone(2)'s CLONE_CHILD_SETTID stores the child's tid in the child's
 * memory, CLONE_PARENT_SETTID in the parent's; both must be the ids the program sees
 * (getpid() in the child, clone's return in the parent), which in a host are virtual
 * while the kernel writes native ones. glibc's fork() relies on the first for its
 * cached tid. Prints two lines; exit status 0. */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t child_word, parent_word;

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    /* x86_64 argument order: flags, stack, parent_tid, child_tid, tls */
    long pid = syscall(SYS_clone, CLONE_CHILD_SETTID | CLONE_PARENT_SETTID | SIGCHLD, 0,
                       &parent_word, &child_word, 0);
    if (pid == 0) {
        printf("child: CLONE_CHILD_SETTID word %s getpid()\n",
               child_word == getpid() ? "==" : "!=");
        _exit(0);
    }
    waitpid((pid_t)pid, NULL, 0);
    printf("parent: CLONE_PARENT_SETTID word %s clone's return\n",
           parent_word == pid ? "==" : "!=");
    return 0;
}
