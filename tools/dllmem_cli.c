/* dllmem: inspect, read, write or hold a segment from the shell. The segment
 * is chosen like in every process: DLLMEM_NAME and DLLMEM_SIZE. */
#define _POSIX_C_SOURCE 200809L
#include "dllmem.h"
#include "utf.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(_WIN32)
#    include <windows.h>
static void sleep_briefly(void) { Sleep(200); }
#else
#    include <time.h>
static void sleep_briefly(void)
{
    struct timespec ts = {0, 200000000L};
    nanosleep(&ts, NULL);
}
#endif

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_TRUNCATED = 3 };

static void usage(FILE *f)
{
    fprintf(f,
            "usage: dllmem COMMAND\n"
            "\n"
            "commands:\n"
            "  info        describe the segment (name, path, sizes, length, sequence, attached)\n"
            "  get         print the stored string as UTF-8\n"
            "  set TEXT    store TEXT (UTF-8 in, UTF-16 stored)\n"
            "  hold        keep the segment alive until interrupted\n"
            "  version     print the library version\n"
            "\n"
            "environment: DLLMEM_NAME (object name), DLLMEM_SIZE (data bytes, even, %u..%u)\n"
            "exit codes: 0 ok, 1 failure, 2 usage, 3 stored but truncated\n",
            DLLMEM_MIN_SIZE, DLLMEM_MAX_SIZE);
}

static int need_attach(void)
{
    if (dllmem_attach_status() == DLLMEM_OK)
        return 1;
    fprintf(stderr, "dllmem: not attached (%s): %s\n", dllmem_status_name(dllmem_attach_status()),
            dllmem_attach_reason());
    return 0;
}

static int cmd_info(void)
{
    dllmem_info in;
    if (!need_attach() || dllmem_get_info(&in) != DLLMEM_OK)
        return EXIT_FAIL;
    printf("name:            %s\n", in.name);
    printf("path:            %s\n", in.path);
    printf("data bytes:      %llu\n", (unsigned long long)in.data_bytes);
    printf("mapping bytes:   %llu\n", (unsigned long long)in.mapping_bytes);
    printf("capacity:        %llu units (terminator included)\n", (unsigned long long)in.capacity);
    printf("stored length:   %llu units\n", (unsigned long long)in.length);
    printf("sequence:        %llu sets\n", (unsigned long long)in.sequence);
    if (in.attached >= 0)
        printf("attached:        %lld processes (this one included)\n", (long long)in.attached);
    else
        printf("attached:        unknown\n");
    printf("layout version:  %u\n", in.layout_version);
    return EXIT_OK;
}

static int cmd_get(void)
{
    if (!need_attach())
        return EXIT_FAIL;
    size_t cap = dllmem_capacity();
    dllmem_unit *buf = malloc(cap * sizeof *buf);
    char *text = malloc(cap * 3 + 1);
    size_t len = 0;
    int rc = EXIT_FAIL;
    if (buf != NULL && text != NULL) {
        dllmem_status st = dllmem_get(buf, cap, &len);
        if (st != DLLMEM_OK)
            fprintf(stderr, "dllmem: get: %s\n", dllmem_strerror(st));
        else if (utf8_from_utf16(buf, len, text, cap * 3 + 1) >= 0 && printf("%s\n", text) >= 0)
            rc = EXIT_OK;
    }
    free(buf);
    free(text);
    return rc;
}

#if defined(_WIN32)
#    include <shellapi.h>
/* Windows hands main() its arguments in the ANSI code page; take TEXT from
 * the UTF-16 command line instead (it is already what the segment stores). */
static long windows_arg(int index, dllmem_unit *buf, size_t cap)
{
    int argc = 0;
    LPWSTR *wargv = CommandLineToArgvW(GetCommandLineW(), &argc);
    long n = -1;
    if (wargv != NULL && index < argc && wcslen(wargv[index]) < cap) {
        n = (long)wcslen(wargv[index]);
        memcpy(buf, wargv[index], (size_t)(n + 1) * sizeof *buf);
    }
    LocalFree(wargv);
    return n;
}
#endif

static int cmd_set(const char *arg)
{
    if (!need_attach())
        return EXIT_FAIL;
    size_t cap = strlen(arg) * 2 + 1; /* enough for any code page's text */
    dllmem_unit *buf = malloc(cap * sizeof *buf);
    if (buf == NULL)
        return EXIT_FAIL;
#if defined(_WIN32)
    long n = windows_arg(2, buf, cap);
#else
    long n = utf16_from_utf8(arg, buf, cap);
#endif
    if (n < 0) {
        fprintf(stderr, "dllmem: set: TEXT is not valid UTF-8; nothing stored\n");
        free(buf);
        return EXIT_FAIL;
    }
    size_t stored = 0;
    dllmem_status st = dllmem_set(buf, (size_t)n, &stored);
    free(buf);
    if (st == DLLMEM_TRUNCATED) {
        fprintf(stderr,
                "dllmem: set: stored %zu of %ld units (capacity %zu, terminator "
                "included)\n",
                stored, n, dllmem_capacity());
        return EXIT_TRUNCATED;
    }
    if (st != DLLMEM_OK) {
        fprintf(stderr, "dllmem: set: %s\n", dllmem_strerror(st));
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) { g_stop = sig; }

static int cmd_hold(void)
{
    if (!need_attach())
        return EXIT_FAIL;
    /* Standard C signals, so the same code runs on Windows. */
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    dllmem_info in;
    (void)dllmem_get_info(&in);
    printf("holding %s until interrupted\n", in.path[0] ? in.path : in.name);
    fflush(stdout);
    while (!g_stop)
        sleep_briefly();
    return EXIT_OK; /* returning runs the library's detach */
}

int main(int argc, char **argv)
{
#if defined(_WIN32)
    SetConsoleOutputCP(CP_UTF8); /* get prints UTF-8 */
#endif
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(cmd, "set") == 0) {
        if (argc != 3) {
            fprintf(stderr, "dllmem: set takes exactly one TEXT argument\n");
            return EXIT_USAGE;
        }
        return cmd_set(argv[2]);
    }
    if (argc != 2) {
        fprintf(stderr, "dllmem: %s takes no arguments\n", cmd);
        return EXIT_USAGE;
    }
    if (strcmp(cmd, "info") == 0)
        return cmd_info();
    if (strcmp(cmd, "get") == 0)
        return cmd_get();
    if (strcmp(cmd, "hold") == 0)
        return cmd_hold();
    if (strcmp(cmd, "version") == 0) {
        printf("dllmem %s (header %s)\n", dllmem_version_string(), DLLMEM_VERSION_STRING);
        return dllmem_version() == DLLMEM_VERSION_HEX ? EXIT_OK : EXIT_FAIL;
    }
    fprintf(stderr, "dllmem: unknown command \"%s\" (try --help)\n", cmd);
    return EXIT_USAGE;
}
