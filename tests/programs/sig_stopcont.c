/* sig_stopcont: SIGSTOP / SIGTSTP / SIGCONT seen through waitpid (WUNTRACED,
 * WCONTINUED: WIFSTOPPED, WSTOPSIG, WIFCONTINUED) and waitid (WSTOPPED, WCONTINUED:
 * CLD_STOPPED, CLD_CONTINUED). child#1 sits in pause() with default dispositions.
 *   - SIGCONT to a running child reports nothing;
 *   - SIGSTOP: waitpid(WUNTRACED) says stopped by SIGSTOP, once;
 *   - SIGCONT: waitpid(WCONTINUED) says continued, once;
 *   - the same through waitid(WSTOPPED) / waitid(WCONTINUED);
 *   - SIGTSTP (default action stop) stops it too;
 *   - SIGTERM to the stopped child stays pending (a stopped process wants no signal
 *     but SIGKILL and SIGCONT); the SIGCONT that follows lets it kill the child.
 * Output is symbolic; exit status 0, 100+ when a step could not run. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

static pid_t kid;

static void wp(const char *label, int opts)
{
    int st = 0;
    pid_t r = waitpid(kid, &st, opts);
    if (r < 0) {
        out("%s -1 %s\n", label, errno == ECHILD ? "ECHILD" : strerror(errno));
        return;
    }
    if (r == 0) {
        out("%s 0\n", label);
        return;
    }
    out("%s %s", label, r == kid ? "child#1" : "other");
    if (WIFSTOPPED(st))
        out(" WIFSTOPPED WSTOPSIG=%s\n", signame(WSTOPSIG(st)));
    else if (WIFCONTINUED(st))
        out(" WIFCONTINUED\n");
    else if (WIFEXITED(st))
        out(" WIFEXITED %d\n", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        out(" WIFSIGNALED WTERMSIG=%s\n", signame(WTERMSIG(st)));
    else
        out(" status=%#x\n", st);
}

static void wid(const char *label, int opts)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_PID, (id_t)kid, &si, opts) != 0) {
        out("%s -1 %s\n", label, errno == ECHILD ? "ECHILD" : strerror(errno));
        return;
    }
    if (si.si_pid == 0) {
        out("%s 0 pid=0\n", label);
        return;
    }
    out("%s signo=%s pid=%s code=%s status=%s\n", label, signame(si.si_signo),
        si.si_pid == kid ? "child#1" : "other", cldname(si.si_code),
        signame(si.si_status));
}

static void send(int sig)
{
    if (kill(kid, sig) != 0) {
        out("error kill %s\n", strerror(errno));
        _exit(100);
    }
}

int main(void)
{
    kid = fork();
    if (kid < 0)
        return 100;
    if (kid == 0) {
        setpgid(0, 0);
        for (;;)
            pause();
    }
    /* A group of its own, whose parent is in another group of the session: never
     * orphaned, so SIGTSTP stops it whatever runs this program (credentials(7)). */
    setpgid(kid, kid);
    send(SIGCONT);
    wp("waitpid_cont_running", WCONTINUED | WUNTRACED | WNOHANG);

    send(SIGSTOP);
    wp("waitpid_wuntraced", WUNTRACED);
    wp("waitpid_wuntraced_again", WUNTRACED | WNOHANG);
    send(SIGCONT);
    wp("waitpid_wcontinued", WCONTINUED);
    wp("waitpid_wcontinued_again", WCONTINUED | WNOHANG);

    send(SIGSTOP);
    wid("waitid_wstopped", WSTOPPED);
    wid("waitid_wstopped_again", WSTOPPED | WNOHANG);
    send(SIGCONT);
    wid("waitid_wcontinued", WCONTINUED);
    wid("waitid_wcontinued_again", WCONTINUED | WNOHANG);

    send(SIGTSTP);
    wp("waitpid_tstp", WUNTRACED);
    send(SIGTERM); /* stays pending while the child is stopped */
    wp("waitpid_term_while_stopped", WUNTRACED | WCONTINUED | WNOHANG);
    send(SIGCONT); /* now SIGTERM's default action kills it */
    wp("waitpid_term_after_cont", 0);
    wp("waitpid_after", WNOHANG);
    out("done\n");
    return 0;
}
