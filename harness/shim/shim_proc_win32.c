/* Child processes on Windows: CreateProcess with a stdout pipe, waits with a
 * deadline, TerminateProcess (exit code 128 + sig, as a POSIX signal death
 * reads), and reaping whatever is left. Same interface as shim_proc.c. */
#include "shim.h"

#include <windows.h>

#include <tlhelp32.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TRACKED 4096
static HANDLE g_tracked[MAX_TRACKED];
static int g_ntracked;
static char g_self[MAX_PATH * 2];

void shim_set_self(const char *exe)
{
    (void)exe;
    GetModuleFileNameA(NULL, g_self, (DWORD)sizeof g_self);
}

static void untrack(HANDLE h)
{
    for (int i = 0; i < g_ntracked; i++) {
        if (g_tracked[i] == h) {
            g_tracked[i] = g_tracked[--g_ntracked];
            return;
        }
    }
}

/* Appends s to cmd as one argument, quoted as CommandLineToArgvW expects. */
static void append_arg(char *cmd, size_t cap, const char *s)
{
    size_t n = strlen(cmd);
    if (n + 4 + 2 * strlen(s) >= cap)
        return;
    if (n > 0)
        cmd[n++] = ' ';
    cmd[n++] = '"';
    for (const char *p = s; *p; p++) {
        size_t backslashes = 0;
        while (*p == '\\') {
            backslashes++;
            p++;
        }
        if (*p == '\0' || *p == '"') {
            size_t times = *p == '"' ? 2 * backslashes + 1 : 2 * backslashes;
            for (size_t i = 0; i < times; i++)
                cmd[n++] = '\\';
            if (*p == '\0')
                break;
            cmd[n++] = '"';
        } else {
            for (size_t i = 0; i < backslashes; i++)
                cmd[n++] = '\\';
            cmd[n++] = *p;
        }
    }
    cmd[n++] = '"';
    cmd[n] = '\0';
}

static size_t key_len(const char *kv)
{
    const char *eq = strchr(kv + (kv[0] == '='), '=');
    return eq ? (size_t)(eq - kv) : strlen(kv);
}

/* This process's environment with env[] entries replacing same-named ones. */
static char *environment_block(const char *const *env)
{
    char *cur = GetEnvironmentStringsA();
    size_t size = 2;
    for (const char *p = cur; *p; p += strlen(p) + 1)
        size += strlen(p) + 1;
    for (int j = 0; env && env[j]; j++)
        size += strlen(env[j]) + 1;
    char *block = malloc(size), *out = block;
    if (block == NULL)
        return NULL;
    for (const char *p = cur; *p; p += strlen(p) + 1) {
        int overridden = 0;
        for (int j = 0; env && env[j] && !overridden; j++)
            overridden = key_len(p) == key_len(env[j]) && _strnicmp(p, env[j], key_len(p)) == 0;
        if (!overridden) {
            strcpy(out, p);
            out += strlen(p) + 1;
        }
    }
    for (int j = 0; env && env[j]; j++) {
        strcpy(out, env[j]);
        out += strlen(env[j]) + 1;
    }
    *out = '\0';
    FreeEnvironmentStringsA(cur);
    return block;
}

bool shim_spawn_role(shim_child *c, const char *role, const char *const *args,
                     const char *const *env)
{
    char cmd[8192] = "";
    append_arg(cmd, sizeof cmd, g_self);
    append_arg(cmd, sizeof cmd, "--role");
    append_arg(cmd, sizeof cmd, role);
    for (int i = 0; args && args[i]; i++)
        append_arg(cmd, sizeof cmd, args[i]);
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    HANDLE rd, wr;
    if (!CreatePipe(&rd, &wr, &sa, 0)) {
        fprintf(stderr, "shim: CreatePipe failed (error %lu)\n", (unsigned long)GetLastError());
        errno = EMFILE;
        return false;
    }
    SetHandleInformation(rd, HANDLE_FLAG_INHERIT, 0);
    char *block = environment_block(env);
    STARTUPINFOA si;
    PROCESS_INFORMATION pi;
    ZeroMemory(&si, sizeof si);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdOutput = wr;
    si.hStdError = GetStdHandle(STD_ERROR_HANDLE);
    si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
    /* A few tries: under load Wine's CreateProcess now and then fails with
     * ERROR_INTERNAL_ERROR (1359) and succeeds when called again. */
    BOOL ok = FALSE;
    DWORD err = 0;
    for (int attempt = 0; attempt < 5 && !ok; attempt++) {
        if (attempt > 0)
            Sleep(20u * (DWORD)attempt);
        ok = CreateProcessA(g_self, cmd, NULL, NULL, TRUE, 0, block, NULL, &si, &pi);
        err = ok ? 0 : GetLastError();
    }
    free(block);
    CloseHandle(wr);
    if (!ok) {
        fprintf(stderr, "shim: CreateProcess failed 5 times (error %lu)\n", (unsigned long)err);
        errno = EAGAIN;
        CloseHandle(rd);
        return false;
    }
    CloseHandle(pi.hThread);
    if (g_ntracked < MAX_TRACKED)
        g_tracked[g_ntracked++] = pi.hProcess;
    memset(c, 0, sizeof *c);
    c->pid = (int)pi.dwProcessId;
    c->out_fd = -1;
    c->os_process = (intptr_t)pi.hProcess;
    c->os_out = (intptr_t)rd;
    return true;
}

static void close_out(shim_child *c)
{
    if (c->os_out != 0) {
        CloseHandle((HANDLE)c->os_out);
        c->os_out = 0;
    }
}

/* Bytes readable now: >0, 0 (none yet), or -1 at EOF. */
static long available(shim_child *c)
{
    DWORD n = 0;
    if (c->os_out == 0 || !PeekNamedPipe((HANDLE)c->os_out, NULL, 0, NULL, &n, NULL))
        return -1;
    return (long)n;
}

static int finish(shim_child *c, bool timed_out)
{
    HANDLE h = (HANDLE)c->os_process;
    if (timed_out)
        TerminateProcess(h, 128 + SIGKILL);
    WaitForSingleObject(h, INFINITE);
    DWORD code = 1;
    GetExitCodeProcess(h, &code);
    close_out(c);
    untrack(h);
    CloseHandle(h);
    c->os_process = 0;
    return timed_out ? -1 : (int)code;
}

int shim_child_wait(shim_child *c, int timeout_ms, char *out, size_t out_len)
{
    ULONGLONG deadline = GetTickCount64() + (ULONGLONG)timeout_ms;
    size_t used = 0;
    if (out && out_len)
        out[0] = '\0';
    for (;;) {
        long n = available(c);
        if (n < 0)
            break;
        if (n > 0) {
            char tmp[4096];
            DWORD got = 0;
            if (!ReadFile((HANDLE)c->os_out, tmp, (DWORD)(n < 4096 ? n : 4096), &got, NULL))
                break;
            if (out && used + 1 < out_len) {
                size_t take = got < out_len - 1 - used ? got : out_len - 1 - used;
                memcpy(out + used, tmp, take);
                used += take;
                out[used] = '\0';
            }
            continue;
        }
        if (GetTickCount64() >= deadline)
            return finish(c, true);
        Sleep(1);
    }
    DWORD left = (DWORD)(deadline > GetTickCount64() ? deadline - GetTickCount64() : 0);
    return finish(c, WaitForSingleObject((HANDLE)c->os_process, left) == WAIT_TIMEOUT);
}

bool shim_child_read_line(shim_child *c, int timeout_ms, char *line, size_t len)
{
    ULONGLONG deadline = GetTickCount64() + (ULONGLONG)timeout_ms;
    size_t used = 0;
    while (used + 1 < len) {
        long n = available(c);
        if (n < 0)
            return false;
        if (n == 0) {
            if (GetTickCount64() >= deadline)
                return false;
            Sleep(1);
            continue;
        }
        char ch;
        DWORD got = 0;
        if (!ReadFile((HANDLE)c->os_out, &ch, 1, &got, NULL) || got != 1)
            return false;
        if (ch == '\n') {
            line[used] = '\0';
            return true;
        }
        if (ch != '\r')
            line[used++] = ch;
    }
    return false;
}

bool shim_child_wait_stopped(shim_child *c, int timeout_ms)
{
    /* No job control on Windows: a test-build writer announces "midwrite"
     * and then sleeps inside its Set instead of stopping. */
    char line[64];
    while (shim_child_read_line(c, timeout_ms, line, sizeof line))
        if (strcmp(line, "midwrite") == 0)
            return true;
    return false;
}

/* Suspends (or resumes) every thread of process pid; false if one failed. */
static bool each_thread(DWORD pid, bool suspend)
{
    HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0);
    if (snap == INVALID_HANDLE_VALUE)
        return false;
    THREADENTRY32 te;
    te.dwSize = sizeof te;
    bool ok = true;
    int seen = 0;
    for (BOOL more = Thread32First(snap, &te); more; more = Thread32Next(snap, &te)) {
        if (te.th32OwnerProcessID != pid)
            continue;
        seen++;
        HANDLE t = OpenThread(THREAD_SUSPEND_RESUME | THREAD_GET_CONTEXT, FALSE, te.th32ThreadID);
        if (t == NULL) {
            ok = false;
            continue;
        }
        if (suspend) {
            CONTEXT ctx;
            memset(&ctx, 0, sizeof ctx);
            ctx.ContextFlags = CONTEXT_CONTROL;
            ok = SuspendThread(t) != (DWORD)-1 && GetThreadContext(t, &ctx) && ok;
        } else {
            ok = ResumeThread(t) != (DWORD)-1 && ok;
        }
        CloseHandle(t);
    }
    CloseHandle(snap);
    return ok && seen > 0;
}

bool shim_child_freeze(shim_child *c)
{
    return c->os_process != 0 && each_thread((DWORD)c->pid, true);
}

void shim_child_thaw(shim_child *c)
{
    if (c->os_process != 0)
        (void)each_thread((DWORD)c->pid, false);
}

void shim_child_kill(shim_child *c, int sig)
{
    if (c->os_process != 0)
        TerminateProcess((HANDLE)c->os_process, (UINT)(128 + sig));
}

int shim_child_reap(shim_child *c) { return finish(c, false); }

int shim_reap_all(void)
{
    int n = g_ntracked;
    while (g_ntracked > 0) {
        HANDLE h = g_tracked[--g_ntracked];
        TerminateProcess(h, 128 + SIGKILL);
        WaitForSingleObject(h, INFINITE);
        CloseHandle(h);
    }
    return n;
}

long shim_child_read_some(shim_child *c, char *buf, size_t len)
{
    long n = available(c);
    if (n <= 0)
        return n;
    DWORD got = 0;
    if (!ReadFile((HANDLE)c->os_out, buf, (DWORD)((size_t)n < len ? (size_t)n : len), &got, NULL))
        return -1;
    return (long)got;
}

void shim_children_wait_any(shim_child *const *cs, int n, int timeout_ms)
{
    /* Anonymous pipes cannot be waited on: look every millisecond. */
    ULONGLONG deadline = GetTickCount64() + (ULONGLONG)timeout_ms;
    for (;;) {
        for (int i = 0; i < n; i++)
            if (available(cs[i]) != 0)
                return;
        if (GetTickCount64() >= deadline)
            return;
        Sleep(1);
    }
}
