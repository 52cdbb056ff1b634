/* pidfd: pidfd_open a child, poll it, pidfd_send_signal SIGTERM, waitid(P_PIDFD);
 * pidfd_open of a pid outside (999999) fails with ESRCH. */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <sys/wait.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <poll.h>
#include <errno.h>
#include <string.h>
int main(void){ setvbuf(stdout,NULL,_IONBF,0);
  pid_t c = fork(); if (c==0){ pause(); _exit(9);} 
  int fd = syscall(SYS_pidfd_open, c, 0);
  struct pollfd p = {fd, POLLIN, 0}; printf("poll before %d\n", poll(&p,1,100));
  printf("send %ld\n", syscall(SYS_pidfd_send_signal, fd, SIGTERM, NULL, 0));
  printf("poll after %d\n", poll(&p,1,-1));
  siginfo_t si; si.si_pid=0; int r = waitid(P_PIDFD, fd, &si, WEXITED);
  printf("waitid %d child %d code %d status %d\n", r, si.si_pid==c, si.si_code, si.si_status);
  long bad = syscall(SYS_pidfd_open, 999999, 0); printf("outside %ld %s\n", bad, strerrorname_np(errno));
  return 0;}
