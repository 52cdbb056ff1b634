/* The vDSO a simulated host gives its programs (see vdso.py for why).
 *
 * Its functions answer from the host's clock page, the page mapped just below this
 * image, which the tracer rewrites whenever virtual time moves. The page is only
 * written while no program of the host runs; the sequence word still makes a torn
 * read impossible (odd while the tracer writes, vdso(7)'s readers do the same).
 * Clocks the page does not hold (CPU-time clocks, unknown ids) make the real system
 * call, which the host traps and answers. Nothing here needs a relocation: the page
 * is found relative to the image's own ELF header. */
#include <stddef.h>
#include <stdint.h>

struct clock_page {
    volatile uint32_t seq;
    uint32_t pad;
    volatile int64_t now_ns;          /* the monotonic clocks: since the host's boot */
    volatile int64_t realtime_ns;     /* CLOCK_REALTIME and its views */
    volatile int64_t tai_ns;          /* CLOCK_TAI - CLOCK_REALTIME (adjtimex(2) tai) */
    volatile int64_t raw_ns;          /* CLOCK_MONOTONIC_RAW: not slewed by NTP */
};

struct k_timespec { int64_t tv_sec; int64_t tv_nsec; };
struct k_timeval { int64_t tv_sec; int64_t tv_usec; };
struct k_timezone { int tz_minuteswest; int tz_dsttime; };

extern const char __ehdr_start[] __attribute__((visibility("hidden")));

/* The offsets of this process's time namespace (time_namespaces(7)): CLOCK_MONOTONIC's
 * and CLOCK_BOOTTIME's. Each process has its own copy of the image, and the tracer
 * writes them into it when the process enters a namespace (vdso.py write_offsets). */
__attribute__((used, aligned(16)))
static const int64_t simproc_timens[2] = {0, 0};

static inline int64_t timens_offset(int boottime)
{
    const volatile int64_t *offsets = simproc_timens;
    __asm__("" : "+r"(offsets));  /* written behind the compiler's back: load it */
    return offsets[boottime];
}

#define PAGE 4096
#define NSEC 1000000000LL

static inline const struct clock_page *page(void)
{
    uintptr_t image = (uintptr_t)__ehdr_start;
    __asm__("" : "+r"(image));  /* an address, not an array the compiler bounds */
    return (const struct clock_page *)(image - PAGE);
}

__attribute__((always_inline))  /* simproc_map_stub is copied alone: no calls */
static inline long raw_syscall6(long nr, long a, long b, long c, long d, long e, long f)
{
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall" : "=a"(ret)
                     : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

/* The values as of one instant of virtual time. */
static inline void read_page(int64_t *now, int64_t *real, int64_t *tai, int64_t *raw)
{
    const struct clock_page *p = page();
    uint32_t seq;
    do {
        while ((seq = p->seq) & 1)
            __asm__ volatile("pause");
        __asm__ volatile("" ::: "memory");
        *now = p->now_ns;
        *real = p->realtime_ns;
        *tai = p->tai_ns;
        *raw = p->raw_ns;
        __asm__ volatile("" ::: "memory");
    } while (p->seq != seq);
}

/* Whole seconds, rounded down as the host's handlers round (Python's //). */
static inline int64_t seconds(int64_t ns)
{
    return ns >= 0 ? ns / NSEC : -((-ns + NSEC - 1) / NSEC);
}

/* time.h ids; kernel/timers.py REALTIME_CLOCKS, syscalls/time.py _WALL_CLOCKS and
 * kernel/timens.py's clocks of each offset */
static int clock_kind(int id)
{
    switch (id) {
    case 0: case 5: case 8:               /* REALTIME, _COARSE, _ALARM */
        return 2;
    case 11:                              /* TAI */
        return 4;
    case 1: case 6:                       /* MONOTONIC, _COARSE */
        return 1;
    case 4:                               /* MONOTONIC_RAW */
        return 5;
    case 7: case 9:                       /* BOOTTIME, _ALARM */
        return 3;
    default:
        return 0;
    }
}

int __vdso_clock_gettime(int id, struct k_timespec *ts)
{
    int kind = clock_kind(id);
    if (!kind)
        return (int)raw_syscall6(228 /* clock_gettime */, id, (long)ts, 0, 0, 0, 0);
    int64_t now, real, tai, raw;
    read_page(&now, &real, &tai, &raw);
    int64_t v = kind == 2 ? real : kind == 4 ? real + tai
                : (kind == 5 ? raw : now) + timens_offset(kind == 3);
    ts->tv_sec = seconds(v);
    ts->tv_nsec = v - seconds(v) * NSEC;
    return 0;
}

int __vdso_gettimeofday(struct k_timeval *tv, struct k_timezone *tz)
{
    int64_t now, real, tai, raw;
    read_page(&now, &real, &tai, &raw);
    if (tv) {
        tv->tv_sec = seconds(real);
        tv->tv_usec = (real - seconds(real) * NSEC) / 1000;
    }
    if (tz) {
        tz->tz_minuteswest = 0;  /* UTC, as the trapped call says */
        tz->tz_dsttime = 0;
    }
    return 0;
}

int64_t __vdso_time(int64_t *t)
{
    int64_t now, real, tai, raw;
    read_page(&now, &real, &tai, &raw);
    int64_t s = seconds(real);
    if (t)
        *t = s;
    return s;
}

int __vdso_getcpu(unsigned *cpu, unsigned *node, void *unused)
{
    /* the host answers (syscalls/misc.py): the first CPU of the program's mask */
    return (int)raw_syscall6(309 /* getcpu */, (long)cpu, (long)node, (long)unused, 0, 0, 0);
}

/* Not a vDSO function: the tracer copies this code over a newly exec'd program's
 * entry point and runs it there once (vdso.py's install), to map the clock page and
 * room for the image in one go; it ends at int3 with the room's address (or -1). */
__attribute__((used, noreturn, noinline))
void simproc_map_stub(const char *page_path, long size)
{
    long base = -1;
    long fd = raw_syscall6(257 /* openat */, -100 /* AT_FDCWD */, (long)page_path,
                           02000000 /* O_RDONLY | O_CLOEXEC */, 0, 0, 0);
    if (fd >= 0) {
        base = raw_syscall6(9 /* mmap */, 0, size, 5 /* PROT_READ | PROT_EXEC */,
                            0x22 /* MAP_PRIVATE | MAP_ANONYMOUS */, -1, 0);
        if ((unsigned long)base >= -4095UL)
            base = -1;
        else if (raw_syscall6(9, base, PAGE, 1 /* PROT_READ */,
                              0x11 /* MAP_SHARED | MAP_FIXED */, fd, 0) != base) {
            raw_syscall6(11 /* munmap */, base, size, 0, 0, 0, 0);
            base = -1;
        }
        raw_syscall6(3 /* close */, fd, 0, 0, 0, 0, 0);
    }
    __asm__ volatile("int3" : : "a"(base));
    __builtin_unreachable();
}

int clock_gettime(int, struct k_timespec *) __attribute__((weak, alias("__vdso_clock_gettime")));
int gettimeofday(struct k_timeval *, struct k_timezone *) __attribute__((weak, alias("__vdso_gettimeofday")));
int64_t time(int64_t *) __attribute__((weak, alias("__vdso_time")));
int getcpu(unsigned *, unsigned *, void *) __attribute__((weak, alias("__vdso_getcpu")));
