/* pselect_mask: SIGUSR1 blocked, then pselect and ppoll with an empty temporary mask:
 * each is interrupted (EINTR) when the child sends SIGUSR1, the handler runs under the
 * temporary mask, and the old mask (SIGUSR1 blocked) is back afterwards. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <sys/select.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>
#include <errno.h>
#include <string.h>
static volatile sig_atomic_t got;
static void h(int s){ (void)s; got++; }
int main(void){ setvbuf(stdout,NULL,_IONBF,0);
  sigset_t block, empty; sigemptyset(&block); sigaddset(&block, SIGUSR1); sigemptyset(&empty);
  sigprocmask(SIG_BLOCK, &block, NULL); signal(SIGUSR1, h);
  int p[2]; pipe(p);
  pid_t c = fork(); if (c==0){ sleep(2); kill(getppid(), SIGUSR1); sleep(2); kill(getppid(), SIGUSR1); _exit(0);} 
  time_t t0 = time(NULL);
  fd_set r; FD_ZERO(&r); FD_SET(p[0], &r);
  int rc = pselect(p[0]+1, &r, NULL, NULL, NULL, &empty);
  printf("pselect %d %s got=%d at +%ld\n", rc, rc<0?strerror(errno):"", got, (long)(time(NULL)-t0));
  struct pollfd pf = {p[0], POLLIN, 0};
  rc = ppoll(&pf, 1, NULL, &empty);
  printf("ppoll %d %s got=%d at +%ld\n", rc, rc<0?strerror(errno):"", got, (long)(time(NULL)-t0));
  sigset_t cur; sigprocmask(SIG_BLOCK, NULL, &cur); printf("still blocked %d\n", sigismember(&cur, SIGUSR1));
  return 0;}
