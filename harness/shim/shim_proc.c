/* Child processes: spawn (re-executing this binary with a role), wait with a
 * deadline, kill, and reap whatever is left, so no child outlives a test. */
#define _GNU_SOURCE
#include "shim.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
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

static bool zygote_spawn(shim_child *c, const char *role, const char *const *args,
                         const char *const *env);
static int g_zsock = -1; /* fork mode: the runner's end of the zygote's socket */

bool shim_spawn_role(shim_child *c, const char *role, const char *const *args,
                     const char *const *env)
{
    if (g_zsock >= 0)
        return zygote_spawn(c, role, args, env);
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

/* ---- fork mode: a zygote that has not loaded the library ------------------------
 *
 * The zygote is forked from the runner before any child and never loads the
 * library under test. A spawn request (role, arguments, environment entries,
 * the write end of the child's stdout pipe) goes over a socket; the zygote
 * forks the child as the runner's own (clone with CLONE_PARENT), so the
 * runner waits for it, kills it and reads its exit status exactly as it would
 * an exec'd child. The child checks that the library is not loaded yet, sets
 * its environment and runs the role in place of an exec: it loads the
 * library itself, after the fork, concurrently with its siblings. */
#define ZYGOTE_MSG 8192
static pid_t g_zpid = -1;   /* the zygote */
static pid_t g_zowner = -1; /* the runner (atexit runs in children too) */
static char g_zlib[4096];   /* the library's real path, never loaded in the zygote */
static pid_t *g_tid_field;  /* the thread descriptor's tid (fork_for_runner) */
static void *g_robust_head; /* glibc's robust-list head, for set_robust_list */
static size_t g_robust_len;

/* Whether the dynamic loader has `path` loaded in this process, under this
 * name or any other (it compares the file's device and inode): what the
 * zygote must never have done. RTLD_NOLOAD loads nothing and maps nothing,
 * and asks less of the kernel than a read of /proc/self/maps. A miss leaves
 * dlerror() empty; an error (no fd left, an unreadable file) is "cannot
 * tell", which fails as a load would. Only the default namespace is
 * searched: the zygote never calls dlmopen. */
static const char *library_loaded(const char *path)
{
    (void)dlerror();
    void *h = dlopen(path, RTLD_LAZY | RTLD_NOLOAD);
    if (h != NULL) {
        dlclose(h);
        return "was loaded before the fork";
    }
    return dlerror() != NULL ? "cannot be checked (the loader failed)" : NULL;
}

/* In the forked child: stdout to the pipe, the environment entries, the
 * check, then the role, as `exe --role ROLE ARGS...` would run it. */
static void zygote_child(const shim_role *const *roles, char *msg, size_t len, int out_fd)
{
    close(g_zsock);
    if (out_fd != STDOUT_FILENO) {
        dup2(out_fd, STDOUT_FILENO);
        close(out_fd);
    }
    char *argv[64];
    int argc = 0, nenv = 0;
    argv[argc++] = g_self;
    argv[argc++] = (char *)"--role";
    char *p = msg + 1, *end = msg + len;
    nenv = (unsigned char)msg[0];
    for (int i = 0; i < nenv && p < end; i++) {
        char *eq = strchr(p, '=');
        if (eq != NULL) {
            *eq = '\0';
            setenv(p, eq + 1, 1);
            *eq = '=';
        }
        p += strlen(p) + 1;
    }
    while (p < end && argc < 63) {
        argv[argc++] = p;
        p += strlen(p) + 1;
    }
    argv[argc] = NULL;
    /* The runner's child from birth: a role may watch getppid() for its
     * runner's death (the holder does), and the runner's death kills it, as it
     * does the zygote. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != g_zowner)
        _exit(SHIM_ROLE_ERROR); /* the runner died just now */
    const char *loaded = library_loaded(g_zlib);
    if (loaded != NULL) {
        printf("E zygote: %s %s\n", g_zlib, loaded);
        fflush(stdout);
        _exit(SHIM_ROLE_ERROR);
    }
    void *head = NULL;
    size_t head_len = 0;
    if (*g_tid_field != (pid_t)syscall(SYS_gettid) ||
        syscall(SYS_get_robust_list, 0, &head, &head_len) != 0 || head != g_robust_head) {
        printf("E zygote: the child's thread descriptor (tid %d, not %d) or robust list (%p, "
               "not %p) is not its own\n",
               (int)*g_tid_field, (int)syscall(SYS_gettid), head, g_robust_head);
        fflush(stdout);
        _exit(SHIM_ROLE_ERROR);
    }
    int rc = SHIM_ROLE_USAGE;
    (void)shim_role_dispatch(argc, argv, roles, &rc);
    exit(rc); /* exit, not _exit: stdio and the library's destructors, as after exec */
}

/*
 * fork(), except that the child is the runner's, not the zygote's
 * (CLONE_PARENT): one process per child, nothing to reap or reparent. glibc
 * has no wrapper, so this does what its fork() does for the kernel: the
 * child's thread descriptor gets the child's tid (CLONE_CHILD_SETTID on the
 * field glibc publishes for debuggers) and the child registers the robust-
 * mutex list, so robust and priority-inheriting mutexes in a library under
 * test work in the child as after fork(). No atfork handler runs: the zygote
 * has registered none, and it is single-threaded, so no lock is held across
 * the clone (ThreadSanitizer's runtime threads are why --fork is refused in
 * such builds).
 */
static bool fork_for_runner_ready(void)
{
    const uint32_t *desc = (const uint32_t *)dlsym(RTLD_DEFAULT, "_thread_db_pthread_tid");
    if (desc == NULL || desc[0] != 8u * sizeof(pid_t)) /* {bits, count, offset} */
        return false;
    g_tid_field = (pid_t *)(void *)((char *)(uintptr_t)pthread_self() + desc[2]);
    return *g_tid_field == (pid_t)syscall(SYS_gettid) &&
           syscall(SYS_get_robust_list, 0, &g_robust_head, &g_robust_len) == 0;
}

static pid_t fork_for_runner(void)
{
    unsigned long flags = CLONE_PARENT | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD;
    /* The kernel's argument order: s390 swaps stack and flags; i386, arm,
     * powerpc and mips (CLONE_BACKWARDS) put tls before child_tid; the rest
     * (x86_64, aarch64, riscv) have flags, stack, parent_tid, child_tid, tls. */
#if defined(__s390__) || defined(__s390x__)
    pid_t pid = (pid_t)syscall(SYS_clone, NULL, flags, NULL, g_tid_field, NULL);
#elif defined(__i386__) || defined(__arm__) || defined(__powerpc__) || defined(__mips__)
    pid_t pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, g_tid_field);
#else
    pid_t pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, g_tid_field, NULL);
#endif
    if (pid == 0)
        (void)syscall(SYS_set_robust_list, g_robust_head, g_robust_len);
    return pid;
}

static void zygote_main(const shim_role *const *roles)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* the runner died without stopping us */
    if (getppid() != g_zowner)
        _exit(0);
    for (;;) {
        char msg[ZYGOTE_MSG];
        union {
            struct cmsghdr h;
            char buf[CMSG_SPACE(sizeof(int))];
        } ctl;
        struct iovec iov = {msg, sizeof msg - 1};
        struct msghdr mh = {0};
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = ctl.buf;
        mh.msg_controllen = sizeof ctl.buf;
        ssize_t n = recvmsg(g_zsock, &mh, 0);
        if (n <= 0)
            _exit(n == 0 ? 0 : 1); /* the runner closed its end: done */
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        int fd = -1;
        if (c != NULL && c->cmsg_type == SCM_RIGHTS)
            memcpy(&fd, CMSG_DATA(c), sizeof fd);
        msg[n] = '\0';
        pid_t child = fd >= 0 ? fork_for_runner() : -1;
        if (child == 0)
            zygote_child(roles, msg, (size_t)n, fd);
        if (fd >= 0)
            close(fd);
        if (send(g_zsock, &child, sizeof child, 0) != (ssize_t)sizeof child)
            _exit(1);
    }
}

static void zygote_atexit(void)
{
    if (getpid() == g_zowner)
        shim_zygote_stop();
}

bool shim_zygote_start(const shim_role *const *roles, const char *library)
{
    if (g_zsock >= 0)
        return true;
    char *real = realpath(library, NULL);
    snprintf(g_zlib, sizeof g_zlib, "%s", real != NULL ? real : library);
    free(real);
    if (!fork_for_runner_ready() || prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
        return false;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        return false;
    g_zowner = getpid();
    fflush(NULL); /* nothing buffered is written twice */
    pid_t z = fork();
    if (z == 0) {
        close(sv[0]);
        g_zsock = sv[1];
        g_ntracked = 0; /* the runner's children are not the zygote's */
        zygote_main(roles);
    }
    close(sv[1]);
    if (z < 0) {
        close(sv[0]);
        return false;
    }
    g_zsock = sv[0];
    g_zpid = z;
    static bool registered;
    if (!registered)
        registered = atexit(zygote_atexit) == 0;
    return true;
}

bool shim_zygote_stop(void)
{
    if (g_zsock < 0)
        return true;
    close(g_zsock); /* the zygote reads end of file and exits */
    g_zsock = -1;
    bool ok = true;
    long long deadline = now_ms() + 5000;
    for (;;) {
        pid_t r = waitpid(g_zpid, NULL, WNOHANG);
        if (r == g_zpid || (r < 0 && errno != EINTR))
            break;
        if (now_ms() >= deadline) {
            ok = false; /* it should have exited: report it, and end it */
            kill(g_zpid, SIGKILL);
            while (waitpid(g_zpid, NULL, 0) < 0 && errno == EINTR) {
            }
            break;
        }
        usleep(1000);
    }
    g_zpid = -1;
    return ok;
}

/* fork mode's half of shim_spawn_role: one request, one pid back. */
static bool zygote_spawn(shim_child *c, const char *role, const char *const *args,
                         const char *const *env)
{
    char msg[ZYGOTE_MSG];
    size_t len = 1;
    int nenv = 0;
    bool fits = true;
#define ZPUT(s)                                                                                    \
    do {                                                                                           \
        size_t l_ = strlen(s) + 1;                                                                 \
        if (len + l_ > sizeof msg - 1)                                                             \
            fits = false;                                                                          \
        else                                                                                       \
            memcpy(msg + len, (s), l_), len += l_;                                                 \
    } while (0)
    for (; env != NULL && env[nenv] != NULL && nenv < 255; nenv++)
        ZPUT(env[nenv]);
    msg[0] = (char)nenv;
    ZPUT(role);
    for (int i = 0; args != NULL && args[i] != NULL; i++)
        ZPUT(args[i]);
#undef ZPUT
    if (!fits)
        return false;
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0)
        return false;
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct iovec iov = {msg, len};
    struct msghdr mh = {0};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl.buf;
    mh.msg_controllen = sizeof ctl.buf;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &pfd[1], sizeof(int));
    pid_t pid = -1;
    struct pollfd p = {g_zsock, POLLIN, 0};
    bool sent = sendmsg(g_zsock, &mh, MSG_NOSIGNAL) == (ssize_t)len;
    close(pfd[1]);
    if (!sent || poll(&p, 1, 10000) != 1 ||
        recv(g_zsock, &pid, sizeof pid, 0) != (ssize_t)sizeof pid || pid <= 0) {
        close(pfd[0]);
        return false;
    }
    track(pid);
    c->pid = pid;
    c->out_fd = pfd[0];
    return true;
}
