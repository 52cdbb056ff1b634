/* jobctl MODE: a terminal's job control between a forkpty(3) driver (it holds the
 * master) and its child, the session leader, with jobs in background groups
 * (credentials(7) "job control", termios(3) TOSTOP, tty_ioctl(4), ioctl_tty(2)).
 * Every process reports on the driver's stdout (the leader's fd 1 is put back there;
 * its terminal stays fd 0), in relations, so a native run and the host's print the
 * same lines.
 *   ttin:    a background job's read stops it by SIGTTIN; in the foreground it reads
 *   calls:   which calls of a background job meet SIGTTOU/SIGTTIN (a handler without
 *            SA_RESTART: EINTR), with TOSTOP off and on, blocked and ignored
 *   ttou:    with TOSTOP a background job's write stops it by SIGTTOU; in the
 *            foreground it writes
 *   orphan:  an orphaned background group's read, write (TOSTOP) and tcsetattr: EIO
 *   tiocsig: TIOCSIG on the master signals the foreground group
 *   isig:    ^C, ^\ and ^Z written to the master signal the foreground group (not
 *            with ISIG off, nor after ^V)
 *   winch:   TIOCSWINSZ on the master signals the foreground group if the size
 *            changes (not for the same size)
 *   hangup:  the driver closes the master: SIGHUP and SIGCONT to the leader, and to
 *            the foreground group when the leader exits
 *   hangup-read: the leader reads the terminal when it hangs up: EINTR after its
 *            handler, then end of file */
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <termios.h>
#include "common.h"

static int master;
static int to_driver[2], to_leader[2], to_job[2];

static const char *res(int r)
{
    return r < 0 ? errname(errno) : "ok";
}

static volatile sig_atomic_t handled, last_code, winches;

static void on_signal(int sig, siginfo_t *info, void *ctx)
{
    (void)ctx;
    handled = sig;
    last_code = info->si_code;
    winches += sig == SIGWINCH;
}

static void catch(int sig, int flags)
{
    struct sigaction sa = {.sa_sigaction = on_signal, .sa_flags = SA_SIGINFO | flags};
    if (sigaction(sig, &sa, NULL))
        die("sigaction");
}

static void dispose(int sig, void (*how)(int))
{
    if (signal(sig, how) == SIG_ERR)
        die("signal");
}

static void block(int sig, int how)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(how, &set, NULL);
}

static const char *code(void)
{
    return last_code == SI_KERNEL ? "SI_KERNEL" : siname(last_code);
}

/* A job in a group of its own (background): it waits for a byte on to_job */
static pid_t start_job(void (*body)(void))
{
    pid_t job = fork();
    if (job < 0)
        die("fork");
    if (job == 0) {
        setpgid(0, 0);
        dispose(SIGTTOU, SIG_DFL);   /* the leader's SIG_IGN is inherited */
        take_byte(to_job[0]);
        body();
        _exit(0);
    }
    setpgid(job, job);
    return job;
}

static void wait_job(pid_t job, int flags)
{
    int st;
    if (waitpid(job, &st, flags) < 0)
        die("waitpid");
    out("leader: job %s\n", status(st));
}

static void set_lflag(int fd, tcflag_t on, tcflag_t off)
{
    struct termios t;
    if (tcgetattr(fd, &t))
        die("tcgetattr");
    t.c_lflag = (t.c_lflag | on) & ~off;
    if (tcsetattr(fd, TCSANOW, &t))
        die("tcsetattr");
}

static void read_line(const char *who)
{
    char buf[16];
    handled = 0;
    ssize_t n = read(0, buf, sizeof buf);
    if (n < 0)
        out("%s: read %s, handler %s\n", who, errname(errno), handled ? signame(handled) : "-");
    else
        out("%s: read %d bytes\n", who, (int)n);
}

static void job_reads(void)
{
    read_line("job");
}

/* ttin: stopped by SIGTTIN, given the terminal and continued, the read restarts */
static void ttin(void)
{
    pid_t job = start_job(job_reads);
    pass_byte(to_job[1]);
    wait_job(job, WUNTRACED);
    out("  tcsetpgrp to the job: %s\n", res(tcsetpgrp(0, job)));
    pass_byte(to_driver[1]);   /* the driver types a line */
    take_byte(to_leader[0]);
    kill(-job, SIGCONT);
    wait_job(job, 0);
}

static void job_writes(void)
{
    handled = 0;
    ssize_t n = write(0, "w\n", 2);
    out("job: write %s, handler %s\n", n < 0 ? errname(errno) : "ok",
        handled ? signame(handled) : "-");
}

/* ttou: with TOSTOP a background write stops by SIGTTOU */
static void ttou(void)
{
    set_lflag(0, TOSTOP, 0);
    pid_t job = start_job(job_writes);
    pass_byte(to_job[1]);
    wait_job(job, WUNTRACED);
    out("  tcsetpgrp to the job: %s\n", res(tcsetpgrp(0, job)));
    kill(-job, SIGCONT);
    wait_job(job, 0);
}

static void call(const char *name, int r)
{
    out("  %s: %s, handler %s\n", name, res(r), handled ? signame(handled) : "-");
    handled = 0;
}

static void change_write_read(const char *how, struct termios *t)
{
    out("job (%s):\n", how);
    call("tcsetattr", tcsetattr(0, TCSANOW, t));
    call("write", write(0, ".", 1) == 1 ? 0 : -1);
    call("read", read(0, t, 1) < 0 ? -1 : 0);
}

static void job_calls(void)
{
    struct termios t;
    struct winsize ws = {.ws_row = 24, .ws_col = 80};
    catch(SIGTTOU, 0);
    catch(SIGTTIN, 0);
    handled = 0;
    out("job (TOSTOP off, handlers without SA_RESTART):\n");
    call("tcgetattr", tcgetattr(0, &t));
    call("tcsetattr TCSANOW", tcsetattr(0, TCSANOW, &t));
    call("tcsetattr TCSADRAIN", tcsetattr(0, TCSADRAIN, &t));
    call("tcsetattr TCSAFLUSH", tcsetattr(0, TCSAFLUSH, &t));
    call("TIOCSWINSZ", ioctl(0, TIOCSWINSZ, &ws));
    call("TIOCSWINSZ NULL", ioctl(0, TIOCSWINSZ, NULL));
    call("TCSETS NULL", ioctl(0, TCSETS, NULL));   /* the check comes first */
    call("tcflush", tcflush(0, TCIFLUSH));
    call("tcdrain", tcdrain(0));
    call("tcflow", tcflow(0, TCOON));
    call("tcsendbreak", tcsendbreak(0, 0));
    call("write", write(0, ".", 1) == 1 ? 0 : -1);
    call("read", read(0, &t, 1) < 0 ? -1 : 0);
    pass_byte(to_leader[1]);
    take_byte(to_job[0]);
    out("job (TOSTOP on):\n");
    tcgetattr(0, &t);
    struct iovec iov = {.iov_base = ".", .iov_len = 1};
    call("write", write(0, ".", 1) == 1 ? 0 : -1);
    call("writev", writev(0, &iov, 1) == 1 ? 0 : -1);
    block(SIGTTOU, SIG_BLOCK);
    block(SIGTTIN, SIG_BLOCK);
    change_write_read("both blocked", &t);
    block(SIGTTOU, SIG_UNBLOCK);
    block(SIGTTIN, SIG_UNBLOCK);
    dispose(SIGTTOU, SIG_IGN);
    dispose(SIGTTIN, SIG_IGN);
    change_write_read("both ignored", &t);
    int fl = fcntl(0, F_GETFL);
    fcntl(0, F_SETFL, fl | O_NONBLOCK);
    dispose(SIGTTIN, SIG_DFL);
    catch(SIGTTIN, 0);
    out("job (non-blocking):\n");
    call("read", read(0, &t, 1) < 0 ? -1 : 0);
    fcntl(0, F_SETFL, fl);
}

static void calls(void)
{
    pid_t job = start_job(job_calls);
    pass_byte(to_job[1]);
    take_byte(to_leader[0]);
    set_lflag(0, TOSTOP, 0);
    pass_byte(to_job[1]);
    wait_job(job, 0);
}

static void orphan_reads(void)
{
    pid_t b = fork();
    if (b == 0) {
        take_byte(to_job[0]);   /* its parent is reaped: the group is orphaned */
        struct termios t;
        tcgetattr(0, &t);
        out("orphan: read %s", res(read(0, &t, 1)));
        out(", write %s", res(write(0, ".", 1)));
        out(", tcsetattr %s", res(tcsetattr(0, TCSANOW, &t)));
        out(", tcsetpgrp %s\n", res(tcsetpgrp(0, getpgrp())));
        pass_byte(to_leader[1]);
        _exit(0);
    }
}

static void orphan(void)
{
    set_lflag(0, TOSTOP, 0);
    pid_t job = start_job(orphan_reads);
    pass_byte(to_job[1]);
    wait_job(job, 0);
    pass_byte(to_job[1]);
    take_byte(to_leader[0]);
}

static const char *events;   /* what the driver does: s a signal, l a line */

static void job_waits_for_signals(void)
{
    sigset_t both, none;
    sigemptyset(&both);
    sigaddset(&both, SIGINT);
    sigaddset(&both, SIGQUIT);
    sigaddset(&both, SIGWINCH);
    sigemptyset(&none);
    sigprocmask(SIG_BLOCK, &both, NULL);   /* each comes in sigsuspend */
    catch(SIGINT, 0);
    catch(SIGQUIT, 0);
    catch(SIGWINCH, 0);
    pass_byte(to_driver[1]);
    for (const char *e = events; *e; e++) {
        handled = 0;
        if (*e == 's') {
            sigsuspend(&none);
            out("job: %s code=%s, SIGWINCH %d\n", signame(handled), code(), (int)winches);
        } else {
            read_line("job");
        }
        pass_byte(to_driver[1]);
    }
    for (;;)
        pause();
}

/* tiocsig and isig: the job in the foreground, the driver signals it; the last
 * signal, SIGTSTP, stops it */
static void foreground_job(void)
{
    pid_t job = start_job(job_waits_for_signals);
    out("leader: tcsetpgrp to the job: %s\n", res(tcsetpgrp(0, job)));
    pass_byte(to_job[1]);
    wait_job(job, WUNTRACED);
    kill(job, SIGKILL);
    wait_job(job, 0);
}

static void type(const char *s, size_t n)
{
    if (write(master, s, n) != (ssize_t)n)
        die("write master");
    take_byte(to_driver[0]);
}

static void driver_tiocsig(void)
{
    take_byte(to_driver[0]);
    int r[3], e[3];
    int sigs[3] = {SIGINT, SIGTERM, SIGQUIT};
    for (int i = 0; i < 3; i++) {
        r[i] = ioctl(master, TIOCSIG, sigs[i]);
        e[i] = errno;
        if (r[i] == 0)
            take_byte(to_driver[0]);
    }
    type("l\n", 2);   /* the third read: a line */
    for (int i = 0; i < 3; i++)
        out("driver: TIOCSIG %s: %s\n", signame(sigs[i]), r[i] ? errname(e[i]) : "ok");
    if (ioctl(master, TIOCSIG, SIGTSTP))
        die("TIOCSIG");
}

static void driver_isig(void)
{
    struct termios t;
    take_byte(to_driver[0]);
    type("\003", 1);            /* ^C */
    type("ab\034", 3);          /* ^\ behind unread input */
    tcgetattr(master, &t);
    t.c_lflag &= ~ISIG;
    tcsetattr(master, TCSANOW, &t);
    type("\003\n", 2);          /* a character like any other */
    t.c_lflag |= ISIG;
    tcsetattr(master, TCSANOW, &t);
    type("\026\003\n", 3);      /* ^V^C: literal */
    if (write(master, "\032", 1) != 1)   /* ^Z */
        die("write master");
}

static void resize(int rows)
{
    struct winsize ws = {.ws_row = rows, .ws_col = 100};
    if (ioctl(master, TIOCSWINSZ, &ws))
        die("TIOCSWINSZ");
}

static void driver_winch(void)
{
    take_byte(to_driver[0]);
    resize(30);
    take_byte(to_driver[0]);
    resize(30);   /* the same size: no signal */
    if (ioctl(master, TIOCSIG, SIGINT))
        die("TIOCSIG");
    take_byte(to_driver[0]);
    resize(31);
    take_byte(to_driver[0]);
    if (ioctl(master, TIOCSIG, SIGTSTP))
        die("TIOCSIG");
}

static void hangup_job(void)
{
    catch(SIGHUP, 0);
    pass_byte(to_driver[1]);
    while (!handled)
        pause();
    out("job: %s code=%s\n", signame(handled), code());
    _exit(0);
}

static volatile sig_atomic_t got_hup, got_cont;

static void on_leader_signal(int sig, siginfo_t *info, void *ctx)
{
    (void)ctx;
    (sig == SIGHUP ? (void)(got_hup = info->si_code) : (void)(got_cont = info->si_code));
}

static void hangup(void)
{
    struct sigaction sa = {.sa_sigaction = on_leader_signal, .sa_flags = SA_SIGINFO};
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGCONT, &sa, NULL);
    pid_t job = start_job(hangup_job);
    out("leader: tcsetpgrp to the job: %s\n", res(tcsetpgrp(0, job)));
    pass_byte(to_job[1]);
    while (!got_hup || !got_cont)
        pause();
    out("leader: SIGHUP %s, SIGCONT %s\n", got_hup == SI_KERNEL ? "SI_KERNEL" : "other",
        got_cont == SI_KERNEL ? "SI_KERNEL" : "other");
    _exit(0);
}

static void hangup_read(void)
{
    catch(SIGHUP, 0);
    pass_byte(to_driver[1]);
    read_line("leader");
    read_line("leader");
}

static void leader(const char *mode)
{
    if (!strcmp(mode, "ttin"))
        ttin();
    else if (!strcmp(mode, "ttou"))
        ttou();
    else if (!strcmp(mode, "calls"))
        calls();
    else if (!strcmp(mode, "orphan"))
        orphan();
    else if (!strcmp(mode, "tiocsig") || !strcmp(mode, "isig") || !strcmp(mode, "winch")) {
        events = !strcmp(mode, "isig") ? "ssll" : !strcmp(mode, "winch") ? "sss" : "ssl";
        foreground_job();
    }
    else if (!strcmp(mode, "hangup"))
        hangup();
    else if (!strcmp(mode, "hangup-read"))
        hangup_read();
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    const char *mode = argv[1];
    int report = dup(1);
    if (report < 0 || pipe(to_driver) || pipe(to_leader) || pipe(to_job))
        die("pipe");
    pid_t child = forkpty(&master, NULL, NULL, NULL);
    if (child < 0)
        die("forkpty");
    if (child == 0) {
        dup2(report, 1);
        block(SIGTTOU, SIG_BLOCK);   /* as a shell does: tcsetpgrp from behind */
        set_lflag(0, 0, ECHO);
        block(SIGTTOU, SIG_UNBLOCK);
        dispose(SIGTTOU, SIG_IGN);
        leader(mode);
        _exit(0);
    }
    if (!strcmp(mode, "ttin")) {
        take_byte(to_driver[0]);
        if (write(master, "typed\n", 6) != 6)
            die("write master");
        pass_byte(to_leader[1]);
    } else if (!strcmp(mode, "tiocsig")) {
        driver_tiocsig();
    } else if (!strcmp(mode, "isig")) {
        driver_isig();
    } else if (!strcmp(mode, "winch")) {
        driver_winch();
    } else if (!strncmp(mode, "hangup", 6)) {
        take_byte(to_driver[0]);
        if (mode[6]) {   /* let the leader start its read */
            struct timespec pause = {0, 200000000};
            nanosleep(&pause, NULL);
        }
        close(master);
    }
    int st;
    if (!strcmp(mode, "hangup")) {
        /* the job, signalled when the leader exited, says so before it ends */
        close(to_driver[1]);
        struct pollfd p = {.fd = to_driver[0], .events = POLLIN};
        while (poll(&p, 1, -1) == 1 && read(to_driver[0], &st, 1) > 0)
            ;
    }
    waitpid(child, &st, 0);
    out("driver: leader %s\n", status(st));
    return 0;
}
