/* Child processes: spawn (re-executing this binary with a role), wait with a
 * deadline, kill, and reap whatever is left, so no child outlives a test. */
#define _GNU_SOURCE
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_TRACKED 4096
static int g_tracked[MAX_TRACKED];
static int g_ntracked;
static char g_self[4096] = "/proc/self/exe";

void shim_set_self(const char *exe)
{
    char *real = realpath(exe, NULL);
    if (real != NULL) {
        snprintf(g_self, sizeof g_self, "%s", real);
        free(real);
    }
}

static void track(int pid)
{
    if (g_ntracked < MAX_TRACKED)
        g_tracked[g_ntracked++] = pid;
}

static void untrack(int pid)
{
    for (int i = 0; i < g_ntracked; i++) {
        if (g_tracked[i] == pid) {
            g_tracked[i] = g_tracked[--g_ntracked];
            return;
        }
    }
}

static size_t env_key_len(const char *kv)
{
    const char *eq = strchr(kv, '=');
    return eq != NULL ? (size_t)(eq - kv) : strlen(kv);
}

bool shim_spawn_role(shim_child *c, const char *role, const char *const *args,
                     const char *const *env)
{
    char *argv[64];
    int argc = 0;
    argv[argc++] = g_self;
    argv[argc++] = (char *)"--role";
    argv[argc++] = (char *)role;
    for (int i = 0; args != NULL && args[i] != NULL && argc < 63; i++)
        argv[argc++] = (char *)args[i];
    argv[argc] = NULL;

    /* environ minus keys the caller overrides, plus the caller's entries. */
    size_t n = 0, extra = 0;
    while (environ[n] != NULL)
        n++;
    while (env != NULL && env[extra] != NULL)
        extra++;
    char **envp = calloc(n + extra + 1, sizeof *envp);
    if (envp == NULL)
        return false;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool overridden = false;
        for (size_t j = 0; j < extra && !overridden; j++)
            overridden = env_key_len(environ[i]) == env_key_len(env[j]) &&
                         strncmp(environ[i], env[j], env_key_len(env[j])) == 0;
        if (!overridden)
            envp[k++] = environ[i];
    }
    for (size_t j = 0; j < extra; j++)
        envp[k++] = (char *)env[j];
    envp[k] = NULL;

    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        free(envp);
        return false;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], STDOUT_FILENO);
    pid_t pid;
    int err = posix_spawn(&pid, g_self, &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    free(envp);
    close(pfd[1]);
    if (err != 0) {
        close(pfd[0]);
        return false;
    }
    track(pid);
    c->pid = pid;
    c->out_fd = pfd[0];
    return true;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int shim_child_wait(shim_child *c, int timeout_ms, char *out, size_t out_len)
{
    long long deadline = now_ms() + timeout_ms;
    size_t used = 0;
    bool timed_out = false;
    if (out != NULL && out_len > 0)
        out[0] = 0;
    while (c->out_fd >= 0) {
        long long left = deadline - now_ms();
        if (left <= 0) {
            timed_out = true;
            break;
        }
        struct pollfd p = {c->out_fd, POLLIN, 0};
        int r = poll(&p, 1, (int)(left > 100 ? 100 : left));
        if (r < 0 && errno != EINTR)
            break;
        if (r <= 0)
            continue;
        char tmp[4096];
        ssize_t got = read(c->out_fd, tmp, sizeof tmp);
        if (got <= 0) {
            close(c->out_fd);
            c->out_fd = -1;
            break;
        }
        if (out != NULL && used + 1 < out_len) {
            size_t take = (size_t)got < out_len - 1 - used ? (size_t)got : out_len - 1 - used;
            memcpy(out + used, tmp, take);
            used += take;
            out[used] = 0;
        }
    }
    int status = 0;
    if (timed_out)
        kill(c->pid, SIGKILL); /* before the blocking wait below: a hung child never exits */
    for (;;) {
        pid_t r = waitpid(c->pid, &status, timed_out ? 0 : WNOHANG);
        if (r == c->pid)
            break;
        if (r < 0 && errno != EINTR) {
            status = -1;
            break;
        }
        if (!timed_out && now_ms() >= deadline)
            timed_out = true;
        if (timed_out)
            kill(c->pid, SIGKILL);
        else
            usleep(1000);
    }
    if (c->out_fd >= 0) {
        close(c->out_fd);
        c->out_fd = -1;
    }
    untrack(c->pid);
    if (timed_out)
        return -1;
    if (status == -1)
        return -2;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void shim_child_kill(shim_child *c, int sig)
{
    if (c->pid > 0)
        kill(c->pid, sig);
}

int shim_reap_all(void)
{
    int n = g_ntracked;
    while (g_ntracked > 0) {
        int pid = g_tracked[g_ntracked - 1];
        kill(pid, SIGKILL);
        kill(pid, SIGCONT);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
        }
        g_ntracked--;
    }
    return n;
}

bool shim_child_read_line(shim_child *c, int timeout_ms, char *line, size_t len)
{
    long long deadline = now_ms() + timeout_ms;
    size_t used = 0;
    while (c->out_fd >= 0 && used + 1 < len) {
        long long left = deadline - now_ms();
        if (left <= 0)
            return false;
        struct pollfd p = {c->out_fd, POLLIN, 0};
        int r = poll(&p, 1, (int)left);
        if (r <= 0)
            continue;
        char ch;
        if (read(c->out_fd, &ch, 1) != 1)
            return false;
        if (ch == '\n') {
            line[used] = 0;
            return true;
        }
        /* A line once begun is finished: a short timeout (a poll for "said
         * anything yet?") must not cut it and lose what was read. */
        if (used == 0 && deadline < now_ms() + 5000)
            deadline = now_ms() + 5000;
        line[used++] = ch;
    }
    return false;
}

bool shim_child_wait_stopped(shim_child *c, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    while (now_ms() < deadline) {
        int status;
        pid_t r = waitpid(c->pid, &status, WUNTRACED | WNOHANG);
        if (r == c->pid)
            return WIFSTOPPED(status);
        if (r < 0)
            return false;
        usleep(1000);
    }
    return false;
}

bool shim_child_freeze(shim_child *c)
{
    return kill(c->pid, SIGSTOP) == 0 && shim_child_wait_stopped(c, 2000);
}

void shim_child_thaw(shim_child *c) { (void)kill(c->pid, SIGCONT); }

int shim_child_reap(shim_child *c)
{
    int status = 0;
    while (waitpid(c->pid, &status, 0) < 0) {
        if (errno != EINTR) {
            status = -1;
            break;
        }
    }
    if (c->out_fd >= 0) {
        close(c->out_fd);
        c->out_fd = -1;
    }
    untrack(c->pid);
    if (status == -1)
        return -2;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

long shim_child_read_some(shim_child *c, char *buf, size_t len)
{
    if (c->out_fd < 0)
        return -1;
    struct pollfd p = {c->out_fd, POLLIN, 0};
    if (poll(&p, 1, 0) <= 0)
        return 0;
    ssize_t n = read(c->out_fd, buf, len);
    if (n < 0)
        return (errno == EINTR || errno == EAGAIN) ? 0 : -1;
    return n == 0 ? -1 : (long)n;
}

void shim_children_wait_any(shim_child *const *cs, int n, int timeout_ms)
{
    struct pollfd p[1024];
    int k = 0;
    for (int i = 0; i < n && k < 1024; i++) {
        if (cs[i]->out_fd >= 0) {
            p[k].fd = cs[i]->out_fd;
            p[k].events = POLLIN;
            p[k].revents = 0;
            k++;
        }
    }
    (void)poll(p, (nfds_t)k, timeout_ms);
}
