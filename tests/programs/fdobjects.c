/* fdobjects: a timerfd read in blocking mode and polled, a signalfd read through epoll
 * (SIGUSR1 from a child, then its SIGCHLD). Prints expirations, signals and the
 * seconds since start at which each arrived. */
#include <sys/timerfd.h>
#include <sys/signalfd.h>
#include <sys/epoll.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>
int main(void){ setvbuf(stdout,NULL,_IONBF,0);
  int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
  struct itimerspec its = {{1,0},{2,0}}; timerfd_settime(tfd, 0, &its, NULL);
  uint64_t n; time_t t0=time(NULL);
  read(tfd, &n, 8); printf("expired %lu at +%ld\n", (unsigned long)n, (long)(time(NULL)-t0));
  sleep(3); read(tfd, &n, 8); printf("expired %lu at +%ld\n", (unsigned long)n, (long)(time(NULL)-t0));
  struct itimerspec cur; timerfd_gettime(tfd, &cur); printf("next in %ld s\n", cur.it_value.tv_sec + (cur.it_value.tv_nsec > 500000000));
  sigset_t m; sigemptyset(&m); sigaddset(&m, SIGUSR1); sigaddset(&m, SIGCHLD); sigprocmask(SIG_BLOCK, &m, NULL);
  int sfd = signalfd(-1, &m, 0);
  pid_t c = fork(); if (c==0) { sleep(1); kill(getppid(), SIGUSR1); _exit(4); }
  int ep = epoll_create1(0); struct epoll_event ev = {EPOLLIN, {.fd=sfd}}; epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
  for (int i=0;i<2;i++){ struct epoll_event out; epoll_wait(ep, &out, 1, -1);
    struct signalfd_siginfo si; read(sfd, &si, sizeof si);
    printf("signal %u from %s code %d status %d at +%ld\n", si.ssi_signo, si.ssi_pid==(unsigned)c?"child":"?", si.ssi_code, si.ssi_status, (long)(time(NULL)-t0)); }
  struct pollfd p = {sfd, POLLIN, 0}; printf("poll %d\n", poll(&p, 1, 0));
  return 0;}
