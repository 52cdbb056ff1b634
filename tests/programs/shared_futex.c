/* shared_futex: a parent and its forked child take turns through futexes in shared
 * memory, which only works if a FUTEX_WAKE in one process wakes a waiter in the other.
 *
 *  1. condvar: a PTHREAD_PROCESS_SHARED mutex and condition variable in a
 *     MAP_SHARED|MAP_ANONYMOUS region inherited over fork (glibc uses futex ops without
 *     FUTEX_PRIVATE_FLAG for them); the two processes hand a counter back and forth.
 *  2. memfd: a raw FUTEX_WAIT/FUTEX_WAKE (shared) ping-pong on a word of a memfd that
 *     each process maps itself after the fork, at a different address and from a
 *     different file offset: the word is the same only as (file, offset).
 *
 * Output (strict alternation makes it the same on every run):
 *   condvar parent 0 / condvar child 1 / ... every 25th turn of each side
 *   condvar done counter=200 child=0
 *   memfd parent 0 / memfd child 1 / ...
 *   memfd done counter=200 child=0
 * alarm(20) ends a deadlocked run with SIGALRM instead of hanging. */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

#define ROUNDS 100
#define PAGE 4096

struct condvar_box {
    pthread_mutex_t lock;
    pthread_cond_t turn_changed;
    int turn;      /* 0: the parent's turn, 1: the child's */
    int counter;
};

static void fail(const char *what)
{
    out("error: %s\n", what);
    exit(1);
}

static void condvar_player(struct condvar_box *box, int me, const char *name)
{
    for (int i = 0; i < ROUNDS; i++) {
        pthread_mutex_lock(&box->lock);
        while (box->turn != me)
            pthread_cond_wait(&box->turn_changed, &box->lock);
        if (i % 25 == 0)
            out("condvar %s %d\n", name, box->counter);
        box->counter++;
        box->turn = !me;
        pthread_cond_signal(&box->turn_changed);
        pthread_mutex_unlock(&box->lock);
    }
}

static int condvar_pingpong(void)
{
    struct condvar_box *box = mmap(NULL, sizeof *box, PROT_READ | PROT_WRITE,
                                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (box == MAP_FAILED)
        fail("mmap");
    pthread_mutexattr_t mattr;
    pthread_condattr_t cattr;
    pthread_mutexattr_init(&mattr);
    pthread_mutexattr_setpshared(&mattr, PTHREAD_PROCESS_SHARED);
    pthread_condattr_init(&cattr);
    pthread_condattr_setpshared(&cattr, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&box->lock, &mattr);
    pthread_cond_init(&box->turn_changed, &cattr);
    pid_t child = fork();
    if (child < 0)
        fail("fork");
    if (child == 0) {
        condvar_player(box, 1, "child");
        _exit(0);
    }
    condvar_player(box, 0, "parent");
    int status;
    if (waitpid(child, &status, 0) != child)
        fail("waitpid");
    out("condvar done counter=%d child=%d\n", box->counter,
        WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    return 0;
}

static void futex_wait(uint32_t *word, uint32_t expected)
{
    syscall(SYS_futex, word, FUTEX_WAIT, expected, NULL, NULL, 0);
}

static void futex_wake(uint32_t *word)
{
    syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* word[0]: whose turn (0 parent, 1 child); word[1]: the counter */
static void memfd_player(uint32_t *word, uint32_t me, const char *name)
{
    for (int i = 0; i < ROUNDS; i++) {
        uint32_t turn;
        while ((turn = __atomic_load_n(&word[0], __ATOMIC_SEQ_CST)) != me)
            futex_wait(&word[0], turn);
        if (i % 25 == 0)
            out("memfd %s %u\n", name, word[1]);
        word[1]++;
        __atomic_store_n(&word[0], !me, __ATOMIC_SEQ_CST);
        futex_wake(&word[0]);
    }
}

static int memfd_pingpong(void)
{
    int fd = memfd_create("shared_futex", 0);
    if (fd < 0 || ftruncate(fd, 2 * PAGE) < 0)
        fail("memfd");
    pid_t child = fork();
    if (child < 0)
        fail("fork");
    if (child == 0) {
        /* the child maps only the file's second page, and somewhere else */
        void *shift = mmap(NULL, 3 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        char *page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, PAGE);
        if (shift == MAP_FAILED || page == MAP_FAILED)
            _exit(3);
        memfd_player((uint32_t *)(page + 16), 1, "child");
        _exit(0);
    }
    char *file = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (file == MAP_FAILED)
        fail("mmap memfd");
    memfd_player((uint32_t *)(file + PAGE + 16), 0, "parent");
    int status;
    if (waitpid(child, &status, 0) != child)
        fail("waitpid");
    out("memfd done counter=%u child=%d\n", ((uint32_t *)(file + PAGE + 16))[1],
        WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    return 0;
}

int main(void)
{
    alarm(20);
    condvar_pingpong();
    memfd_pingpong();
    return 0;
}
