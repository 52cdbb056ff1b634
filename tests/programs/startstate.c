/* startstate: what a program finds when it starts, for comparing two ways of spawning.
 * Prints its persona (personality(2)), the signal, CPU and seccomp lines of
 * /proc/self/status, /proc/self/limits, each open descriptor with its descriptor and
 * status flags, the working directory, argv[0] and AT_EXECFN. Exit status 0; 100+ when
 * a step could not run. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "common.h"

static void lines_of(const char *path, const char *const *prefixes)
{
    char line[512];
    FILE *f = fopen(path, "r");
    if (f == NULL)
        die(path);
    while (fgets(line, sizeof line, f) != NULL)
        for (const char *const *p = prefixes; *p != NULL; p++)
            if (strncmp(line, *p, strlen(*p)) == 0) {
                out("%s", line);
                break;
            }
    fclose(f);
}

int main(int argc, char **argv)
{
    (void)argc;
    out("persona %#lx\n", (unsigned long)syscall(SYS_personality, 0xffffffffUL));
    static const char *const status[] = {"Sig", "ShdPnd", "NoNewPrivs", "Seccomp",
                                         "Cpus_allowed_list", NULL};
    lines_of("/proc/self/status", status);
    static const char *const all[] = {"", NULL};
    lines_of("/proc/self/limits", all);
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        die("opendir");
    int own = dirfd(d);
    int seen[64], n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 64)
        if (e->d_name[0] != '.' && atoi(e->d_name) != own)
            seen[n++] = atoi(e->d_name);
    closedir(d);
    for (int fd = 0; fd < 1024; fd++)
        for (int i = 0; i < n; i++)
            if (seen[i] == fd)
                out("fd %d fdflags %#x flflags %#x\n", fd, fcntl(fd, F_GETFD),
                    fcntl(fd, F_GETFL));
    char cwd[4096];
    if (getcwd(cwd, sizeof cwd) == NULL)
        die("getcwd");
    out("cwd %s\nargv0 %s\nexecfn %s\n", cwd, argv[0], (const char *)getauxval(AT_EXECFN));
    return 0;
}
