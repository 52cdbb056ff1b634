/* ctty MODE: controlling terminals and their foreground group (credentials(7),
 * ioctl_tty(2)), printed as relations (self, leader, child...) so that the native run
 * and the host's print the same lines.
 *   take:  openpty; a child's setsid + TIOCSCTTY, what tcgetpgrp/tcgetsid, /dev/tty and
 *          /proc/self/stat's tty_nr and tpgid say on either side, and the refusals
 *   notty: TIOCNOTTY in a member (nothing sent) and in the leader (SIGHUP and SIGCONT
 *          to the foreground group, from the leader)
 *   ttou-default, ttou-ignore, ttou-handler: tcsetpgrp from a background group: it
 *          stops by SIGTTOU until the leader gives it the terminal and continues it
 *          (the call restarts); goes through; fails with EINTR after the handler
 *   exit:  the leader's exit sends SIGHUP to the foreground group (a pty's: no SIGCONT)
 *   forkpty: forkpty(3)'s child is a session leader with the terminal */
#include <fcntl.h>
#include <pty.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include "common.h"

static int master, slave;
static pid_t leader;

static const char *who(pid_t id)
{
    static char buf[4][32];
    static int k;
    char *b = buf[k++ % 4];
    if (id == getpid())
        return "self";
    if (id == leader)
        return "leader";
    if (id == 0)
        return "0";
    snprintf(b, 32, "%s", id < 0 ? strerror(errno) : "other");
    return b;
}

static const char *res(int r)
{
    return r == 0 ? "ok" : strerror(errno);
}

/* tty_nr of /proc/self/stat is the slave's device; tpgid names who */
static void stat_line(void)
{
    char buf[1024];
    int fd = open("/proc/self/stat", O_RDONLY);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        die("stat");
    buf[n] = 0;
    int tty_nr, tpgid;
    if (sscanf(strrchr(buf, ')') + 2, "%*c %*d %*d %*d %d %d", &tty_nr, &tpgid) != 2)
        die("sscanf");
    struct stat st;
    fstat(slave, &st);
    unsigned dev = st.st_rdev;
    unsigned enc = (minor(dev) & 0xff) | (major(dev) << 8) | ((minor(dev) & ~0xffu) << 12);
    out("  stat: tty_nr %s, tpgid %s\n", tty_nr == 0 ? "none" : (unsigned)tty_nr == enc ? "slave" : "other",
        tpgid == -1 ? "-1" : who(tpgid));
}

static void become_leader(void)
{
    if (setsid() < 0)
        die("setsid");
    leader = getpid();
    out("  TIOCSCTTY: %s\n", res(ioctl(slave, TIOCSCTTY, 0)));
}

/* a child that leads a new session with the pty as its terminal */
static pid_t fork_leader(void)
{
    pid_t child = fork();
    if (child == 0)
        become_leader();
    return child;
}

static void reap_child(pid_t child)
{
    int st;
    waitpid(child, &st, 0);
    out("parent: child %s\n", status(st));
}

static void take(void)
{
    out("parent: tcgetpgrp(slave) %s\n", who(tcgetpgrp(slave)));
    int go[2];
    if (pipe(go) < 0)
        die("pipe");
    pid_t child = fork();
    if (child == 0) {
        out("child:\n");
        out("  TIOCSCTTY before setsid: %s\n", res(ioctl(slave, TIOCSCTTY, 0)));
        become_leader();
        out("  TIOCSCTTY again: %s\n", res(ioctl(slave, TIOCSCTTY, 0)));
        out("  tcgetpgrp %s, tcgetsid %s\n", who(tcgetpgrp(slave)), who(tcgetsid(slave)));
        stat_line();
        int m2, s2;
        if (openpty(&m2, &s2, NULL, NULL, NULL) < 0)
            die("openpty");
        out("  TIOCSCTTY of a second terminal: %s\n", res(ioctl(s2, TIOCSCTTY, 0)));
        out("  tcsetpgrp -1: %s, 0: %s, 999999: %s\n", res(tcsetpgrp(slave, -1)),
            res(tcsetpgrp(slave, 0)), res(tcsetpgrp(slave, 999999)));
        out("  tcsetpgrp of the parent's group: %s\n", res(tcsetpgrp(slave, getppid())));
        out("  tcsetpgrp of a terminal not ours: %s\n", res(tcsetpgrp(s2, getpgrp())));
        out("  tcsetpgrp of a pipe: %s\n", res(tcsetpgrp(go[0], getpgrp())));
        int fd = open("/dev/tty", O_RDWR);
        out("  open /dev/tty: %s\n", res(fd < 0 ? -1 : 0));
        if (fd >= 0 && write(fd, "via /dev/tty\n", 13) != 13)
            die("write /dev/tty");
        pid_t grandchild = fork();
        if (grandchild == 0) {
            out("grandchild: setsid: %s\n", who(setsid()) /* self */);
            out("  tcgetpgrp %s\n", who(tcgetpgrp(slave)));
            out("  open /dev/tty: %s\n", res(open("/dev/tty", O_RDWR) < 0 ? -1 : 0));
            out("  TIOCSCTTY of the leader's terminal: %s\n", res(ioctl(slave, TIOCSCTTY, 0)));
            stat_line();
            _exit(0);
        }
        int st;
        waitpid(grandchild, &st, 0);
        pass_byte(go[1]);
        sleep(1);
        _exit(0);
    }
    take_byte(go[0]);
    out("parent: tcgetpgrp(master) child %s, tcgetsid(master) child %s\n",
        tcgetpgrp(master) == child ? "yes" : "no", tcgetsid(master) == child ? "yes" : "no");
    out("parent: tcgetpgrp(slave) %s\n", who(tcgetpgrp(slave)));
    char buf[64];
    ssize_t n = read(master, buf, sizeof buf);
    out("parent: master reads %.*s", (int)(n > 0 ? n : 0), buf);
    reap_child(child);
}

static void pending_line(const char *name)
{
    sigset_t set;
    sigpending(&set);
    out("  %s pending:%s%s\n", name, sigismember(&set, SIGHUP) ? " SIGHUP" : "",
        sigismember(&set, SIGCONT) ? " SIGCONT" : "");
    siginfo_t info;
    struct timespec zero = {0, 0};
    while (sigtimedwait(&set, &info, &zero) > 0)
        out("  %s got %s code=%s from %s\n", name, signame(info.si_signo),
            info.si_code == SI_KERNEL ? "SI_KERNEL" : siname(info.si_code), who(info.si_pid));
}

static void notty(void)
{
    sigset_t both;
    sigemptyset(&both);
    sigaddset(&both, SIGHUP);
    sigaddset(&both, SIGCONT);
    sigprocmask(SIG_BLOCK, &both, NULL);
    out("no terminal: TIOCNOTTY %s\n", res(ioctl(slave, TIOCNOTTY)));
    int go[2], done[2];
    if (pipe(go) < 0 || pipe(done) < 0)
        die("pipe");
    pid_t child = fork_leader();
    if (child == 0) {
        out("  TIOCNOTTY on the master: %s\n", res(ioctl(master, TIOCNOTTY)));
        pid_t member = fork();
        if (member == 0) {
            out("member: TIOCNOTTY %s\n", res(ioctl(slave, TIOCNOTTY)));
            out("  tcgetpgrp %s\n", who(tcgetpgrp(slave)));
            pending_line("member");
            pass_byte(done[1]);
            take_byte(go[0]);
            pending_line("member");
            _exit(0);
        }
        take_byte(done[0]);
        out("leader: tcgetpgrp %s\n", who(tcgetpgrp(slave)));
        out("  TIOCNOTTY: %s\n", res(ioctl(slave, TIOCNOTTY)));
        out("  tcgetpgrp %s\n", who(tcgetpgrp(slave)));
        out("  open /dev/tty: %s\n", res(open("/dev/tty", O_RDWR) < 0 ? -1 : 0));
        pending_line("leader");
        pass_byte(go[1]);
        int st;
        waitpid(member, &st, 0);
        out("  TIOCSCTTY once more: %s\n", res(ioctl(slave, TIOCSCTTY, 0)));
        _exit(0);
    }
    reap_child(child);
}

static volatile sig_atomic_t handled;

static void on_ttou(int sig)
{
    (void)sig;
    handled = 1;
}

static void ttou(const char *how)
{
    int go[2];
    if (pipe(go) < 0)
        die("pipe");
    pid_t child = fork_leader();
    if (child == 0) {
        pid_t job = fork();
        if (job == 0) {
            setpgid(0, 0);
            if (!strcmp(how, "ignore"))
                signal(SIGTTOU, SIG_IGN);
            if (!strcmp(how, "handler")) {
                struct sigaction sa = {.sa_handler = on_ttou};  /* no SA_RESTART */
                sigaction(SIGTTOU, &sa, NULL);
            }
            take_byte(go[0]);
            int r = tcsetpgrp(slave, getpgrp());
            out("job: tcsetpgrp %s, handler ran %d, tcgetpgrp %s\n", res(r), (int)handled,
                tcgetpgrp(slave) == getpgrp() ? "own group" : "other");
            _exit(0);
        }
        setpgid(job, job);
        pass_byte(go[1]);
        int st;
        waitpid(job, &st, WUNTRACED);
        out("leader: job %s\n", status(st));
        if (WIFSTOPPED(st)) {
            out("  tcsetpgrp to the job: %s\n", res(tcsetpgrp(slave, job)));
            kill(job, SIGCONT);
            waitpid(job, &st, 0);
            out("leader: job %s\n", status(st));
        }
        _exit(0);
    }
    reap_child(child);
}

static void on_hup(int sig, siginfo_t *info, void *ctx)
{
    (void)ctx;
    out("job: %s code=%s\n", signame(sig),
        info->si_code == SI_KERNEL ? "SI_KERNEL" : siname(info->si_code));
    _exit(0);
}

static void exit_hangs_up(void)
{
    int ready[2], gone[2];
    if (pipe(ready) < 0 || pipe(gone) < 0)
        die("pipe");
    pid_t child = fork_leader();
    if (child == 0) {
        pid_t job = fork();
        if (job == 0) {
            close(gone[0]);
            struct sigaction sa = {.sa_sigaction = on_hup, .sa_flags = SA_SIGINFO};
            sigaction(SIGHUP, &sa, NULL);
            sigaction(SIGCONT, &sa, NULL);
            setpgid(0, 0);
            pass_byte(ready[1]);
            for (;;)
                pause();
        }
        setpgid(job, job);
        take_byte(ready[0]);
        out("leader: tcsetpgrp to the job: %s\n", res(tcsetpgrp(slave, job)));
        _exit(0);
    }
    close(gone[1]);
    int st;
    waitpid(child, &st, 0);
    char c;
    while (read(gone[0], &c, 1) > 0)
        ;
    out("parent: leader %s, then the job ended\n", status(st));
}

static void forkpty_child(void)
{
    int fd;
    pid_t child = forkpty(&fd, NULL, NULL, NULL);
    if (child < 0)
        die("forkpty");
    if (child == 0) {
        struct termios t;
        tcgetattr(0, &t);
        t.c_oflag &= ~OPOST;
        tcsetattr(0, TCSANOW, &t);
        out("child: leader %s, tcgetpgrp %s, tcgetsid %s\n", getsid(0) == getpid() ? "yes" : "no",
            who(tcgetpgrp(0)), who(tcgetsid(0)));
        _exit(0);
    }
    char buf[256];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        out("%.*s", (int)n, buf);
    reap_child(child);
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    if (strcmp(argv[1], "forkpty")) {
        struct termios raw;
        cfmakeraw(&raw);
        if (openpty(&master, &slave, NULL, &raw, NULL) < 0)
            die("openpty");
    }
    if (!strcmp(argv[1], "take"))
        take();
    else if (!strcmp(argv[1], "notty"))
        notty();
    else if (!strncmp(argv[1], "ttou-", 5))
        ttou(argv[1] + 5);
    else if (!strcmp(argv[1], "exit"))
        exit_hangs_up();
    else if (!strcmp(argv[1], "forkpty"))
        forkpty_child();
    else
        return 2;
    return 0;
}
