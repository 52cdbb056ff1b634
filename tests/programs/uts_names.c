/* uts_names: a UTS namespace a program makes (unshare(CLONE_NEWUTS)) starts with a
 * copy of its maker's names; sethostname(2) and setdomainname(2) in it change what
 * uname(2) gives there and in its children, and setns(2) back to the first namespace
 * gives its names again, which the parent still has (LTP's setns02). Names are
 * printed as comparisons: the machine's differ from a host's. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/utsname.h>
#include <sys/wait.h>
static void show(const char *w){struct utsname u; uname(&u); printf("%s: %s %s\n", w, u.nodename, u.domainname);}
int main(void)
{
  setvbuf(stdout, 0, _IONBF, 0);
  char root[65]; struct utsname u; uname(&u); strcpy(root, u.nodename);
  int fd = open("/proc/self/ns/uts", O_RDONLY);
  pid_t p = fork();
  if (p == 0) {
    if (unshare(CLONE_NEWUTS)) { perror("unshare"); return 1; }
    uname(&u); printf("copy same: %d\n", strcmp(u.nodename, root) == 0);
    printf("set: %d\n", sethostname("inner", 5));
    printf("setdomain: %d\n", setdomainname("dom", 3));
    show("inner");
    pid_t q = fork(); if (q == 0) { show("grandchild"); _exit(0); } waitpid(q, 0, 0);
    printf("setns back: %d\n", setns(fd, CLONE_NEWUTS));
    uname(&u); printf("back same: %d\n", strcmp(u.nodename, root) == 0);
    return 0;
  }
  waitpid(p, 0, 0);
  uname(&u); printf("parent same: %d\n", strcmp(u.nodename, root) == 0);
  return 0;
}
