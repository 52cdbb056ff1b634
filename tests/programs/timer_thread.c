/* timer_thread: a SIGEV_THREAD_ID timer signals the thread it names (timer_create(2)).
 *
 * 1. The worker thread has SIGUSR1 unblocked, the main thread blocks it: the timer's
 *    signal runs the handler in the worker (gettid() there is the worker's tid).
 * 2. The worker blocks SIGUSR2, the main thread does not: the timer's signal stays
 *    pending on the worker (sigpending there shows it) and the main thread's handler
 *    never runs, however long it sleeps; the worker then takes it with sigwaitinfo,
 *    SI_TIMER and the timer's value.
 * Exit status 0; 100+ when a step could not run. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include "common.h"

static volatile pid_t worker_tid, handled_in;
static pthread_barrier_t ready;

static void handler(int sig)
{
    (void)sig;
    handled_in = gettid();
}

static timer_t thread_timer(pid_t tid, int signo)
{
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = signo;
    sev.sigev_value.sival_int = 7;
    sev._sigev_un._tid = tid;
    timer_t id;
    if (timer_create(CLOCK_MONOTONIC, &sev, &id))
        die("timer_create");
    struct itimerspec its = {{0, 0}, {0, 100000000}};
    if (timer_settime(id, 0, &its, NULL))
        die("timer_settime");
    return id;
}

static void *worker_handles(void *arg)
{
    (void)arg;
    worker_tid = gettid();
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    pthread_barrier_wait(&ready);
    while (!handled_in)
        pause();
    return NULL;
}

static void *worker_blocks(void *arg)
{
    (void)arg;
    worker_tid = gettid();
    sigset_t set, pending;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    pthread_barrier_wait(&ready);
    pthread_barrier_wait(&ready);         /* the main thread slept past the expiry */
    sigpending(&pending);
    out("pending in the worker: %s\n", sigismember(&pending, SIGUSR2) ? "yes" : "no");
    siginfo_t si;
    int sig = sigwaitinfo(&set, &si);
    out("sigwaitinfo in the worker: %s %s value=%d\n", signame(sig),
        si.si_code == SI_TIMER ? "SI_TIMER" : siname(si.si_code), si.si_value.sival_int);
    return NULL;
}

int main(void)
{
    signal(SIGUSR1, handler);
    signal(SIGUSR2, handler);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    pthread_barrier_init(&ready, NULL, 2);

    pthread_t t;
    pthread_create(&t, NULL, worker_handles, NULL);
    pthread_barrier_wait(&ready);
    timer_t id = thread_timer(worker_tid, SIGUSR1);
    pthread_join(t, NULL);
    timer_delete(id);
    out("SIGUSR1 handled in the worker: %s\n", handled_in == worker_tid ? "yes" : "no");

    handled_in = 0;
    pthread_create(&t, NULL, worker_blocks, NULL);
    pthread_barrier_wait(&ready);
    id = thread_timer(worker_tid, SIGUSR2);
    struct timespec sleep_for = {0, 300000000};
    nanosleep(&sleep_for, NULL);
    out("main thread's handler ran: %s\n", handled_in ? "yes" : "no");
    pthread_barrier_wait(&ready);
    pthread_join(t, NULL);
    timer_delete(id);
    return 0;
}
