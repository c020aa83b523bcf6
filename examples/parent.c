/* The example's parent: writes a string into shared memory, then starts the
 * child given on the command line and waits for it. */
#include "dllmem.h"

#include <stdio.h>

#if defined(_WIN32)
#    include <windows.h>
#else
#    include <spawn.h>
#    include <sys/wait.h>
extern char **environ;
#endif

/* Starts argv[0] with no arguments and returns its exit status, or -1. */
static int run_child(const char *path)
{
#if defined(_WIN32)
    STARTUPINFOA si;
    PROCESS_INFORMATION pi;
    char cmd[MAX_PATH + 2];
    ZeroMemory(&si, sizeof si);
    si.cb = sizeof si;
    if (snprintf(cmd, sizeof cmd, "\"%s\"", path) >= (int)sizeof cmd)
        return -1;
    if (!CreateProcessA(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi)) {
        fprintf(stderr, "parent: CreateProcess failed (%lu)\n", GetLastError());
        return -1;
    }
    CloseHandle(pi.hThread);
    WaitForSingleObject(pi.hProcess, INFINITE);
    DWORD code = 1;
    GetExitCodeProcess(pi.hProcess, &code);
    CloseHandle(pi.hProcess);
    return (int)code;
#else
    pid_t pid;
    char *argv[] = {(char *)path, NULL};
    int err = posix_spawn(&pid, path, NULL, NULL, argv, environ);
    if (err != 0) {
        fprintf(stderr, "parent: cannot start %s: error %d\n", path, err);
        return -1;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
#endif
}

int main(int argc, char **argv)
{
    static dllmem_unit text[] = {'T', 'h', 'i', 's', ' ', 'i', 's', ' ', 'a', ' ', 't',
                                 'e', 's', 't', ' ', 's', 't', 'r', 'i', 'n', 'g', 0};
    if (argc != 2) {
        fprintf(stderr, "usage: parent PATH-TO-CHILD\n");
        return 2;
    }
    if (dllmem_attach_status() != DLLMEM_OK) {
        fprintf(stderr, "parent: %s\n", dllmem_attach_reason());
        return 1;
    }
    printf("Process is writing to shared memory...\n");
    fflush(stdout);
    SetSharedMem(text);
    if (dllmem_last_status() != DLLMEM_OK) {
        fprintf(stderr, "parent: SetSharedMem: %s\n", dllmem_strerror(dllmem_last_status()));
        return 1;
    }
    int code = run_child(argv[1]);
    return code == 0 ? 0 : 1;
}
