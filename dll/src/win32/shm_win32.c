/*
 * Windows backend: a paging-file mapping (CreateFileMappingW / MapViewOfFile)
 * set up in DllMain, as in the original example, with an owner-only DACL, a
 * Local\ name by default, and a named mutex for writer exclusion and
 * initialization.
 *
 * Objects, for DLLMEM_NAME=N (default "dllmemfilemap"):
 *   Local\N               the mapping (a name with a '\' is used as given)
 *   Local\N.dllmem-lock   the writer mutex. WAIT_ABANDONED means the holder
 *                         died holding it; the core then repairs the segment.
 *
 * Lifetime is the kernel's: the mapping goes with its last handle, crashed
 * holders included, so the next attacher starts fresh. Initialization runs
 * under the mutex, so a joiner never sees a half-written control block
 * (unless its writer died, which the unfinished-block check catches).
 *
 * Legacy mappings: a mapping of exactly the data size, as the original example
 * creates it, has no room for the control block. It is used without the
 * protocol (ctl == NULL): bounded copies, so processes still running the
 * example and dllmem processes can share a string.
 *
 * DllMain runs under the loader lock: attach makes kernel32/advapi32 calls
 * (advapi32 is a load-time import, so already initialized) and waits only on
 * a cross-process mutex, with a bound; detach only unmaps and closes.
 */
#if defined(_WIN32)

#    ifndef WIN32_LEAN_AND_MEAN
#        define WIN32_LEAN_AND_MEAN
#    endif
#    include <windows.h>

#    include <aclapi.h>
#    include <sddl.h>

#    include "../backend.h"
#    include "../entry.h"

#    include <stdio.h>
#    include <string.h>

#    define LOCK_WAIT_MS 10000

static DWORD g_lock_wait_ms = LOCK_WAIT_MS;

static void win_reason(struct dllmem_reason *why, const char *name, const char *call)
{
    DWORD err = GetLastError();
    char text[256] = "";
    DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, err,
                             0, text, (DWORD)sizeof text, NULL);
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
        text[--n] = '\0';
    dllmem_reason_set(why, "%s on \"%s\" failed: %s (error %lu)", call, name, text,
                      (unsigned long)err);
}

/* "Local\name" unless the name already names a namespace; UTF-8 to UTF-16. */
static int wide_name(const char *name, const char *suffix, wchar_t *out, int cap)
{
    char full[DLLMEM_NAME_MAX + 64];
    (void)snprintf(full, sizeof full, "%s%s%s", strchr(name, '\\') ? "" : "Local\\", name, suffix);
    return MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, full, -1, out, cap);
}

/* A SID from the process token: the user (TokenUser) or the default owner of
 * new objects (TokenOwner; for an elevated administrator that is the
 * Administrators group). Free with LocalFree; NULL on failure. */
static PSID token_sid(TOKEN_INFORMATION_CLASS which)
{
    HANDLE token;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token))
        return NULL;
    DWORD len = 0;
    (void)GetTokenInformation(token, which, NULL, 0, &len);
    void *info = len > 0 ? LocalAlloc(LPTR, len) : NULL;
    PSID copy = NULL;
    if (info != NULL && GetTokenInformation(token, which, info, len, &len)) {
        PSID sid =
            which == TokenUser ? ((TOKEN_USER *)info)->User.Sid : ((TOKEN_OWNER *)info)->Owner;
        DWORD sid_len = GetLengthSid(sid);
        copy = LocalAlloc(LPTR, sid_len);
        if (copy != NULL && !CopySid(sid_len, copy, sid)) {
            LocalFree(copy);
            copy = NULL;
        }
    }
    if (info != NULL)
        LocalFree(info);
    CloseHandle(token);
    return copy;
}

/* An owner-only security descriptor: a protected DACL granting the user all
 * access and nobody else anything, as the example's note on
 * SECURITY_ATTRIBUTES suggests. Free with LocalFree. */
static PSECURITY_DESCRIPTOR owner_only(PSID user)
{
    LPWSTR sid_text = NULL;
    PSECURITY_DESCRIPTOR sd = NULL;
    if (user == NULL || !ConvertSidToStringSidW(user, &sid_text))
        return NULL;
    wchar_t sddl[256];
    (void)_snwprintf(sddl, sizeof sddl / sizeof sddl[0], L"O:%lsD:P(A;;GA;;;%ls)", sid_text,
                     sid_text);
    sddl[sizeof sddl / sizeof sddl[0] - 1] = L'\0';
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, &sd, NULL))
        sd = NULL;
    LocalFree(sid_text);
    return sd;
}

/* FOREIGN_OWNER if the kernel names an owner that is neither this user nor
 * the owner this process's own new objects get (which is what the original
 * example's objects have, created with default security). */
static dllmem_status check_owner(HANDLE h, PSID user, const char *name, struct dllmem_reason *why)
{
    PSID ours = token_sid(TokenOwner);
    PSID owner = NULL;
    PSECURITY_DESCRIPTOR sd = NULL;
    DWORD err = GetSecurityInfo(h, SE_KERNEL_OBJECT, OWNER_SECURITY_INFORMATION, &owner, NULL, NULL,
                                NULL, &sd);
    dllmem_status st = DLLMEM_OK;
    if (err == ERROR_SUCCESS && owner != NULL && user != NULL && !EqualSid(owner, user) &&
        (ours == NULL || !EqualSid(owner, ours))) {
        dllmem_reason_set(why, "\"%s\" is owned by another user", name);
        st = DLLMEM_FOREIGN_OWNER;
    }
    if (sd != NULL)
        LocalFree(sd);
    if (ours != NULL)
        LocalFree(ours);
    return st;
}

static dllmem_status lock(HANDLE mutex, const char *name, struct dllmem_reason *why)
{
    DWORD r = WaitForSingleObject(mutex, g_lock_wait_ms);
    if (r == WAIT_OBJECT_0 || r == WAIT_ABANDONED)
        return DLLMEM_OK; /* abandoned: its holder died; the core repairs */
    if (r == WAIT_TIMEOUT) {
        dllmem_reason_set(why, "\"%s\" stayed locked for %lu ms", name,
                          (unsigned long)g_lock_wait_ms);
        return DLLMEM_TIMEOUT;
    }
    win_reason(why, name, "WaitForSingleObject");
    return DLLMEM_OS_ERROR;
}

/* Maps the object and decides what it is. Called with the mutex held. */
static dllmem_status map_and_adopt(HANDLE map, bool created, const struct dllmem_config *cfg,
                                   struct dllmem_segment *seg, struct dllmem_reason *why)
{
    unsigned char *base = MapViewOfFile(map, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, 0);
    if (base == NULL) {
        win_reason(why, cfg->name, "MapViewOfFile");
        return DLLMEM_OS_ERROR;
    }
    MEMORY_BASIC_INFORMATION mbi;
    SIZE_T view = VirtualQuery(base, &mbi, sizeof mbi) != 0 ? mbi.RegionSize : 0;
    uint64_t want = dllmem_mapping_bytes(cfg->data_bytes);
    if (view >= want) {
        dllmem_segment_bind(seg, base, cfg->data_bytes);
        bool unfinished = false;
        dllmem_status st = created ? DLLMEM_OK : dllmem_ctl_check(seg, want, &unfinished, why);
        if (created || unfinished) {
            dllmem_ctl_init(seg); /* fresh (zero-filled), or its initializer died */
            return DLLMEM_OK;
        }
        if (st == DLLMEM_OK)
            return DLLMEM_OK;
        UnmapViewOfFile(base);
        seg->base = NULL;
        return st;
    }
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    uint64_t page = si.dwPageSize;
    if (!created && view == (cfg->data_bytes + page - 1) / page * page) {
        /* The original example's mapping: data area only. */
        seg->base = base;
        seg->ctl = NULL;
        seg->data = (dllmem_unit *)(void *)base;
        seg->shadow = NULL;
        seg->data_bytes = cfg->data_bytes;
        seg->capacity = cfg->data_bytes / 2u;
        seg->mapping_bytes = cfg->data_bytes;
        return DLLMEM_OK;
    }
    UnmapViewOfFile(base);
    dllmem_reason_set(why, "\"%s\" is a %llu-byte mapping, not a dllmem segment of %u data bytes",
                      cfg->name, (unsigned long long)view, (unsigned)cfg->data_bytes);
    return DLLMEM_SIZE_MISMATCH;
}

dllmem_status dllmem_os_attach(const struct dllmem_config *cfg, struct dllmem_segment *seg,
                               struct dllmem_reason *why)
{
    wchar_t map_name[DLLMEM_NAME_MAX + 64], lock_name[DLLMEM_NAME_MAX + 64];
    if (wide_name(cfg->name, "", map_name, DLLMEM_NAME_MAX + 64) == 0 ||
        wide_name(cfg->name, ".dllmem-lock", lock_name, DLLMEM_NAME_MAX + 64) == 0) {
        dllmem_reason_set(why, "DLLMEM_NAME \"%s\" is not valid UTF-8", cfg->name);
        return DLLMEM_BAD_CONFIG;
    }
    const char *wait = getenv("DLLMEM_TEST_WAIT_MS");
#    if defined(DLLMEM_TESTING)
    if (wait != NULL)
        g_lock_wait_ms = (DWORD)strtoul(wait, NULL, 10);
#    else
    (void)wait;
#    endif
    PSID user = token_sid(TokenUser);
    PSECURITY_DESCRIPTOR sd = owner_only(user);
    if (sd == NULL) {
        win_reason(why, cfg->name, "building an owner-only security descriptor");
        if (user != NULL)
            LocalFree(user);
        return DLLMEM_OS_ERROR;
    }
    SECURITY_ATTRIBUTES sa = {sizeof sa, sd, FALSE};
    dllmem_status st = DLLMEM_OK;
    HANDLE map = NULL;
    HANDLE mutex = CreateMutexW(&sa, FALSE, lock_name);
    if (mutex == NULL) {
        win_reason(why, cfg->name, "CreateMutexW");
        st = DLLMEM_OS_ERROR;
        goto done;
    }
    if (GetLastError() == ERROR_ALREADY_EXISTS)
        st = check_owner(mutex, user, cfg->name, why);
    if (st == DLLMEM_OK)
        st = lock(mutex, cfg->name, why);
    if (st != DLLMEM_OK)
        goto done;
    uint64_t bytes = dllmem_mapping_bytes(cfg->data_bytes);
    map = CreateFileMappingW(INVALID_HANDLE_VALUE, &sa, PAGE_READWRITE, (DWORD)(bytes >> 32),
                             (DWORD)(bytes & 0xFFFFFFFFu), map_name);
    if (map == NULL) {
        win_reason(why, cfg->name, "CreateFileMappingW");
        st = GetLastError() == ERROR_INVALID_HANDLE ? DLLMEM_WRONG_KIND : DLLMEM_OS_ERROR;
    } else {
        bool created = GetLastError() != ERROR_ALREADY_EXISTS;
        st = created ? DLLMEM_OK : check_owner(map, user, cfg->name, why);
        if (st == DLLMEM_OK)
            st = map_and_adopt(map, created, cfg, seg, why);
    }
    ReleaseMutex(mutex);
done:
    if (st != DLLMEM_OK) {
        if (map != NULL)
            CloseHandle(map);
        if (mutex != NULL)
            CloseHandle(mutex);
    } else {
        seg->os_handle = (intptr_t)map;
        seg->os_lock = (intptr_t)mutex;
    }
    LocalFree(sd);
    LocalFree(user);
    return st;
}

void dllmem_os_detach(struct dllmem_segment *seg)
{
    UnmapViewOfFile(seg->base);
    CloseHandle((HANDLE)seg->os_handle);
    CloseHandle((HANDLE)seg->os_lock);
    seg->base = NULL;
}

dllmem_status dllmem_os_writer_lock(struct dllmem_segment *seg)
{
    struct dllmem_reason ignored;
    return lock((HANDLE)seg->os_lock, seg->config.name, &ignored);
}

void dllmem_os_writer_unlock(struct dllmem_segment *seg) { ReleaseMutex((HANDLE)seg->os_lock); }

void dllmem_os_yield(void) { SwitchToThread(); }

void dllmem_os_describe(const struct dllmem_segment *seg, char *path, size_t path_len,
                        int64_t *attached)
{
    (void)snprintf(path, path_len, "%s%s", strchr(seg->config.name, '\\') ? "" : "Local\\",
                   seg->config.name);
    *attached = -1; /* Windows does not say how many handles an object has */
}

void dllmem_os_default_name(char *buf, size_t len)
{
    /* Local\ is per session: other users' sessions cannot see or squat it. */
    (void)snprintf(buf, len, "%s", DLLMEM_DEFAULT_NAME);
}

#    if defined(DLLMEM_TESTING)
/* Test builds: a writer told to stop mid-write sleeps there holding the mutex
 * until it is terminated, which abandons the mutex. */
void dllmem_os_test_midwrite(void)
{
    const char *stop = getenv("DLLMEM_TEST_STOP_MIDWRITE");
    if (stop != NULL && stop[0] == '1') {
        fputs("midwrite\n", stdout);
        fflush(stdout);
        Sleep(INFINITE);
    }
}
#    else
void dllmem_os_test_midwrite(void) {}
#    endif

#    if !defined(DLLMEM_EMBEDDED)
BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved)
{
    (void)instance;
    switch (reason) {
    case DLL_PROCESS_ATTACH: dllmem_core_attach(); break;
    case DLL_PROCESS_DETACH:
        /* At process exit (reserved != NULL) the kernel closes everything. */
        if (reserved == NULL)
            dllmem_core_detach();
        break;
    default: break;
    }
    return TRUE; /* a failed attach still loads; the exports stay safe */
}
#    endif

#endif /* _WIN32 */
