/* prodcons: producers and consumers with pthreads, and a pipe between two threads.
 *
 *   prodcons
 *
 * Threads (times are seconds after the start):
 *   producer A   8 items: a burst of 3 at 1, then one at 2, 3, 4, 5, 6
 *   producer B   4 items: one every 2.5 s, at 2.5, 5, 7.5, 10
 *   consumer 1, consumer 2
 *                take items from a bounded queue (capacity 2) guarded by one mutex and
 *                two condition variables: not_empty (consumers wait on it with
 *                pthread_cond_timedwait and a 1.5 s deadline, counting the waits that
 *                expire) and not_full (producers wait on it with pthread_cond_wait,
 *                counting the waits); each item takes a consumer 0.75 s of work
 *   pipe writer  5 records {seq, sent_ms} into a pipe, one every 2 s (at 2, 4, ... 10)
 *   pipe reader  blocking read(2)s of whole records; checks the sequence and notes the
 *                time each one arrived
 * main joins the producers, sets `done` and broadcasts not_empty, joins the rest and
 * prints a summary. Which consumer takes which item, and so each consumer's line and
 * the timeouts each one counts, is up to the scheduler; the totals are not.
 * Exit status 0, or 1 when a check failed (a lost item, a record out of sequence).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define QCAP 2
#define RECORDS 5
#define MS 1000000L

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static int queue[QCAP], qhead, qlen, done;
static int full_waits;
static struct timespec t0;
static int pipefd[2];

struct producer { const char *name; int base; int n; const long *at_ms; int produced; };
struct consumer { int id; int consumed, timeouts; long sum; long last_ms; };
struct record { uint32_t seq; uint32_t sent_ms; };
struct reader { int records, in_order; long first_ms, last_ms, total_delay_ms; };

static void say(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof buf - 1) n = sizeof buf - 1;
    if (write(STDOUT_FILENO, buf, n) != n) _exit(99);
}

static void die(const char *what, int err)
{
    say("%s: %s\n", what, strerror(err));
    _exit(2);
}

static long since_start_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - t0.tv_sec) * 1000L + (now.tv_nsec - t0.tv_nsec) / MS;
}

/* sleep until `ms` after the start (absolute: no drift) */
static void sleep_until_ms(long ms)
{
    struct timespec at = t0;
    at.tv_sec += ms / 1000;
    at.tv_nsec += (ms % 1000) * MS;
    if (at.tv_nsec >= 1000 * MS) { at.tv_sec++; at.tv_nsec -= 1000 * MS; }
    int rc;
    while ((rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL)) == EINTR)
        ;
    if (rc) die("clock_nanosleep", rc);
}

static void work_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * MS};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static void *producer(void *arg)
{
    struct producer *p = arg;
    for (int i = 0; i < p->n; i++) {
        sleep_until_ms(p->at_ms[i]);
        pthread_mutex_lock(&mu);
        while (qlen == QCAP) {
            full_waits++;
            pthread_cond_wait(&not_full, &mu);
        }
        queue[(qhead + qlen) % QCAP] = p->base + i;
        qlen++;
        p->produced++;
        pthread_cond_signal(&not_empty);
        pthread_mutex_unlock(&mu);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    struct consumer *c = arg;
    pthread_mutex_lock(&mu);
    for (;;) {
        while (qlen == 0 && !done) {
            struct timespec deadline;
            clock_gettime(CLOCK_REALTIME, &deadline);   /* the condvar's default clock */
            deadline.tv_nsec += 500 * MS;
            deadline.tv_sec += 1 + deadline.tv_nsec / (1000 * MS);
            deadline.tv_nsec %= 1000 * MS;
            int rc = pthread_cond_timedwait(&not_empty, &mu, &deadline);
            if (rc == ETIMEDOUT) c->timeouts++;
            else if (rc) die("pthread_cond_timedwait", rc);
        }
        if (qlen == 0)
            break;                                      /* done, and nothing left */
        int item = queue[qhead];
        qhead = (qhead + 1) % QCAP;
        qlen--;
        pthread_cond_signal(&not_full);
        pthread_mutex_unlock(&mu);
        c->consumed++;
        c->sum += item;
        c->last_ms = since_start_ms();
        work_ms(750);
        pthread_mutex_lock(&mu);
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

static void *pipe_writer(void *arg)
{
    (void)arg;
    for (uint32_t seq = 1; seq <= RECORDS; seq++) {
        sleep_until_ms(2000L * seq);
        struct record r = {seq, (uint32_t)since_start_ms()};
        if (write(pipefd[1], &r, sizeof r) != sizeof r) die("write", errno);
    }
    close(pipefd[1]);
    return NULL;
}

static void *pipe_reader(void *arg)
{
    struct reader *rd = arg;
    struct record r;
    ssize_t n;
    rd->in_order = 1;
    while ((n = read(pipefd[0], &r, sizeof r)) == sizeof r) {
        long now = since_start_ms();
        rd->records++;
        if (r.seq != (uint32_t)rd->records) rd->in_order = 0;
        if (rd->records == 1) rd->first_ms = now;
        rd->last_ms = now;
        rd->total_delay_ms += now - (long)r.sent_ms;
    }
    if (n != 0) die("read", n < 0 ? errno : EIO);
    close(pipefd[0]);
    return NULL;
}

static void start(pthread_t *t, void *(*fn)(void *), void *arg)
{
    int rc = pthread_create(t, NULL, fn, arg);
    if (rc) die("pthread_create", rc);
}

static void join(pthread_t t)
{
    int rc = pthread_join(t, NULL);
    if (rc) die("pthread_join", rc);
}

static const char *fmt_ms(long ms, char *buf)
{
    sprintf(buf, "+%ld.%03ld", ms / 1000, ms % 1000);
    return buf;
}

int main(void)
{
    static const long a_at[] = {1000, 1000, 1000, 2000, 3000, 4000, 5000, 6000};
    static const long b_at[] = {2500, 5000, 7500, 10000};
    struct producer a = {"A", 100, 8, a_at, 0}, b = {"B", 200, 4, b_at, 0};
    struct consumer c1 = {1}, c2 = {2};
    struct reader rd = {0};
    pthread_t ta, tb, tc1, tc2, tw, tr;
    char t1[32], t2[32];

    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    say("prodcons %d started at %ld\n", (int)getpid(), (long)wall.tv_sec);
    if (pipe(pipefd) != 0) die("pipe", errno);

    start(&tc1, consumer, &c1);
    start(&tc2, consumer, &c2);
    start(&tr, pipe_reader, &rd);
    start(&tw, pipe_writer, NULL);
    start(&ta, producer, &a);
    start(&tb, producer, &b);

    join(ta);
    join(tb);
    pthread_mutex_lock(&mu);
    done = 1;
    pthread_cond_broadcast(&not_empty);
    pthread_mutex_unlock(&mu);
    join(tc1);
    join(tc2);
    join(tw);
    join(tr);

    long expected_sum = 0;
    for (int i = 0; i < a.n; i++) expected_sum += a.base + i;
    for (int i = 0; i < b.n; i++) expected_sum += b.base + i;
    int consumed = c1.consumed + c2.consumed;
    long sum = c1.sum + c2.sum;
    int ok = consumed == a.produced + b.produced && sum == expected_sum
             && rd.records == RECORDS && rd.in_order;

    say("produced A %d B %d, producer waits for room %d\n", a.produced, b.produced, full_waits);
    say("consumer 1: %d items, sum %ld, last at %s, %d timeouts\n",
        c1.consumed, c1.sum, fmt_ms(c1.last_ms, t1), c1.timeouts);
    say("consumer 2: %d items, sum %ld, last at %s, %d timeouts\n",
        c2.consumed, c2.sum, fmt_ms(c2.last_ms, t2), c2.timeouts);
    say("consumed %d items, sum %ld (expected %ld), %d timeouts\n",
        consumed, sum, expected_sum, c1.timeouts + c2.timeouts);
    say("pipe: %d records %s, first at %s, last at %s, total delay %ld ms\n",
        rd.records, rd.in_order ? "in order" : "OUT OF ORDER",
        fmt_ms(rd.first_ms, t1), fmt_ms(rd.last_ms, t2), rd.total_delay_ms);
    clock_gettime(CLOCK_REALTIME, &wall);
    say("%s at %ld.%03ld (%s)\n", ok ? "ok" : "FAILED", (long)wall.tv_sec,
        wall.tv_nsec / MS, fmt_ms(since_start_ms(), t1));
    return ok ? 0 : 1;
}
