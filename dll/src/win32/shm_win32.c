/*
 * Windows backend: a paging-file mapping (CreateFileMappingW / MapViewOfFile)
 * set up in DllMain, as in the original example, with an owner-only DACL, a
 * Local\ name by default, and two named mutexes.
 *
 * Objects, for DLLMEM_NAME=N (default "dllmemfilemap"):
 *   Local\N                the mapping (a name with a '\' is used as given):
 *                          the layout and a size record in whole pages
 *                          (layout.h), so a process that did not create it
 *                          learns the creator's DLLMEM_SIZE.
 *   Local\N.dllmem-attach  held while a process opens, checks and initializes
 *                          the mapping (what the DMS byte does on POSIX), so
 *                          nobody adopts a half-made segment. Nothing else
 *                          holds it: a Set never delays an attach.
 *   Local\N.dllmem-lock    the writer mutex. WAIT_ABANDONED means the holder
 *                          died holding it; the core then repairs the segment.
 *
 * Lifetime is the kernel's: the mapping goes with its last handle, crashed
 * holders included, so the next attacher starts fresh. A dllmem process holds
 * a handle only while attaching (under the attach mutex) or attached, so an
 * initializer that dies takes its unfinished mapping with it, unless a process
 * outside dllmem holds it open; then it is refused until that one closes it.
 * What a mapping holds is the core's decision (dllmem_adopt): a mapping this
 * attach created is initialized; any other is used only if its size record
 * names this process's DLLMEM_SIZE and its control block is valid, or if it
 * is the original example's (data only, round_up(DLLMEM_SIZE, page) bytes, no
 * record), which is used without the protocol (ctl == NULL). Anything else is
 * refused untouched.
 *
 * An existing object is checked before use: its owner must be this user (or
 * the owner this process's new objects get), and its DACL may grant nobody
 * but them, LocalSystem and this logon session (what Windows' default DACL
 * grants, so the original example's mapping passes). An object whose security
 * cannot be read is refused. An object with no security at all (no owner, no
 * DACL) is accepted: that is what Wine gives objects created with default
 * security, the original example's included; Windows always names an owner.
 *
 * DllMain runs under the loader lock: attach makes kernel32/advapi32 calls
 * (advapi32 is a load-time import, so already initialized) and waits only on
 * the attach mutex, at most ATTACH_WAIT_MS. Past that, attach fails with
 * TIMEOUT and a reason; the library stays loaded and its exports do nothing,
 * safely. Detach only unmaps and closes.
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
#    include "../object_name.h"

#    include <stdio.h>
#    include <stdlib.h>
#    include <string.h>

#    define ATTACH_WAIT_MS 1000 /* under the loader lock: only attachers hold it */
#    define WRITER_WAIT_MS 10000

static DWORD g_attach_wait_ms = ATTACH_WAIT_MS;
static DWORD g_writer_wait_ms = WRITER_WAIT_MS;

/* This process's attach (backend.h): there is one, the core's segment's. */
struct dllmem_os_attach {
    HANDLE map;    /* the mapping; the kernel frees it with its last handle */
    HANDLE writer; /* Local\N.dllmem-lock, the writer mutex */
};
static struct dllmem_os_attach g_os;

/* ---- system calls, through a table so test builds can inject failures ------- */

struct syscall_entry {
    const char *name;
    DWORD inject_error; /* non-zero: fail with this error (test builds only) */
    int inject_at;      /* 0: every call; N: only the Nth call since attach */
    int calls;
};

enum {
    SYS_OPEN_PROCESS_TOKEN,
    SYS_GET_TOKEN_INFORMATION,
    SYS_CONVERT_SD,
    SYS_CREATE_MUTEX,
    SYS_WAIT,
    SYS_CREATE_FILE_MAPPING,
    SYS_GET_SECURITY_INFO,
    SYS_MAP_VIEW,
    SYS_VIRTUAL_QUERY,
    SYS_COUNT
};

static struct syscall_entry g_sys[SYS_COUNT] = {
    [SYS_OPEN_PROCESS_TOKEN] = {.name = "OpenProcessToken"},
    [SYS_GET_TOKEN_INFORMATION] = {.name = "GetTokenInformation"},
    [SYS_CONVERT_SD] = {.name = "ConvertStringSecurityDescriptorToSecurityDescriptorW"},
    [SYS_CREATE_MUTEX] = {.name = "CreateMutexW"},
    [SYS_WAIT] = {.name = "WaitForSingleObject"},
    [SYS_CREATE_FILE_MAPPING] = {.name = "CreateFileMappingW"},
    [SYS_GET_SECURITY_INFO] = {.name = "GetSecurityInfo"},
    [SYS_MAP_VIEW] = {.name = "MapViewOfFile"},
    [SYS_VIRTUAL_QUERY] = {.name = "VirtualQuery"},
};

#    if defined(DLLMEM_TESTING)
/* Test builds: DLLMEM_TEST_FAIL=call[@N][,call[@N]...] makes the named call
 * fail (every time, or only its Nth time since attach) with an error that call
 * can return, as the POSIX build's table does; DLLMEM_TEST_WAIT_MS bounds both
 * lock waits. Read at attach. */
static void load_test_hooks(void)
{
    static const DWORD errors[SYS_COUNT] = {
        [SYS_OPEN_PROCESS_TOKEN] = ERROR_ACCESS_DENIED,
        [SYS_GET_TOKEN_INFORMATION] = ERROR_ACCESS_DENIED,
        [SYS_CONVERT_SD] = ERROR_NOT_ENOUGH_MEMORY,
        [SYS_CREATE_MUTEX] = ERROR_ACCESS_DENIED,
        [SYS_WAIT] = ERROR_ACCESS_DENIED,
        [SYS_CREATE_FILE_MAPPING] = ERROR_COMMITMENT_LIMIT,
        [SYS_GET_SECURITY_INFO] = ERROR_ACCESS_DENIED,
        [SYS_MAP_VIEW] = ERROR_NOT_ENOUGH_MEMORY,
        [SYS_VIRTUAL_QUERY] = ERROR_INVALID_PARAMETER,
    };
    const char *wait = getenv("DLLMEM_TEST_WAIT_MS");
    const char *fail = getenv("DLLMEM_TEST_FAIL");
    g_attach_wait_ms = wait != NULL ? (DWORD)strtoul(wait, NULL, 10) : ATTACH_WAIT_MS;
    g_writer_wait_ms = wait != NULL ? (DWORD)strtoul(wait, NULL, 10) : WRITER_WAIT_MS;
    for (int i = 0; i < SYS_COUNT; i++) {
        const char *hit = fail != NULL ? strstr(fail, g_sys[i].name) : NULL;
        size_t n = strlen(g_sys[i].name);
        g_sys[i].inject_error = hit != NULL ? errors[i] : 0;
        g_sys[i].inject_at = hit != NULL && hit[n] == '@' ? atoi(hit + n + 1) : 0;
        g_sys[i].calls = 0;
    }
}
#    else
static void load_test_hooks(void) {}
#    endif

static bool injected(int which)
{
    struct syscall_entry *e = &g_sys[which];
    if (e->inject_error == 0)
        return false;
    if (e->inject_at != 0 && ++e->calls != e->inject_at)
        return false;
    SetLastError(e->inject_error);
    return true;
}

static BOOL sys_open_process_token(HANDLE *token)
{
    return !injected(SYS_OPEN_PROCESS_TOKEN) &&
           OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, token);
}

static BOOL sys_get_token_information(HANDLE token, TOKEN_INFORMATION_CLASS which, void *info,
                                      DWORD len, DWORD *out)
{
    return !injected(SYS_GET_TOKEN_INFORMATION) &&
           GetTokenInformation(token, which, info, len, out);
}

static BOOL sys_convert_sd(const wchar_t *sddl, PSECURITY_DESCRIPTOR *sd)
{
    return !injected(SYS_CONVERT_SD) &&
           ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, sd, NULL);
}

static HANDLE sys_create_mutex(SECURITY_ATTRIBUTES *sa, const wchar_t *wname)
{
    return injected(SYS_CREATE_MUTEX) ? NULL : CreateMutexW(sa, FALSE, wname);
}

static DWORD sys_wait(HANDLE h, DWORD ms)
{
    return injected(SYS_WAIT) ? WAIT_FAILED : WaitForSingleObject(h, ms);
}

static HANDLE sys_create_file_mapping(SECURITY_ATTRIBUTES *sa, uint64_t bytes, const wchar_t *wname)
{
    if (injected(SYS_CREATE_FILE_MAPPING))
        return NULL;
    return CreateFileMappingW(INVALID_HANDLE_VALUE, sa, PAGE_READWRITE, (DWORD)(bytes >> 32),
                              (DWORD)(bytes & 0xFFFFFFFFu), wname);
}

static void *sys_map_view(HANDLE map)
{
    return injected(SYS_MAP_VIEW) ? NULL
                                  : MapViewOfFile(map, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, 0);
}

static SIZE_T sys_virtual_query(const void *p, MEMORY_BASIC_INFORMATION *mbi)
{
    return injected(SYS_VIRTUAL_QUERY) ? 0 : VirtualQuery(p, mbi, sizeof *mbi);
}

static void win_error_reason(struct dllmem_reason *why, const char *name, const char *call,
                             DWORD err)
{
    char text[256] = "";
    DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, err,
                             0, text, (DWORD)sizeof text, NULL);
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
        text[--n] = '\0';
    dllmem_reason_set(why, "%s on \"%s\" failed: %s (error %lu)", call, name, text,
                      (unsigned long)err);
}

static void win_reason(struct dllmem_reason *why, const char *name, const char *call)
{
    win_error_reason(why, name, call, GetLastError());
}

/* The object's name (object_name.h has the rule), UTF-8 to UTF-16; 0 if it
 * is not valid UTF-8. full has room for any name config.c accepts. */
static int wide_name(const char *name, const char *suffix, wchar_t *out, int cap)
{
    char full[DLLMEM_NAME_MAX + 64];
    (void)dllmem_object_name(full, sizeof full, name, suffix);
    return MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, full, -1, out, cap);
}

static PSID copy_sid(PSID sid)
{
    DWORD len = GetLengthSid(sid);
    PSID copy = LocalAlloc(LPTR, len);
    if (copy != NULL && !CopySid(len, copy, sid)) {
        LocalFree(copy);
        copy = NULL;
    }
    return copy;
}

/* A SID from the process token: the user (TokenUser), the default owner of
 * new objects (TokenOwner; for an elevated administrator that is the
 * Administrators group) or the logon session's (TokenGroups, SE_GROUP_LOGON_ID).
 * Free with LocalFree. NULL when there is none, or on failure: then *failed
 * names the call that failed (GetLastError holds its error). */
static PSID token_sid(TOKEN_INFORMATION_CLASS which, const char **failed)
{
    HANDLE token;
    if (!sys_open_process_token(&token)) {
        *failed = "OpenProcessToken";
        return NULL;
    }
    DWORD len = 0;
    (void)GetTokenInformation(token, which, NULL, 0, &len); /* the size only */
    void *info = len > 0 ? LocalAlloc(LPTR, len) : NULL;
    PSID copy = NULL;
    if (info == NULL) {
        *failed = len == 0 ? "GetTokenInformation" : "LocalAlloc";
    } else if (!sys_get_token_information(token, which, info, len, &len)) {
        *failed = "GetTokenInformation";
    } else {
        if (which == TokenUser) {
            copy = copy_sid(((TOKEN_USER *)info)->User.Sid);
        } else if (which == TokenOwner) {
            copy = copy_sid(((TOKEN_OWNER *)info)->Owner);
        } else {
            const TOKEN_GROUPS *groups = info;
            for (DWORD i = 0; i < groups->GroupCount && copy == NULL; i++)
                if ((groups->Groups[i].Attributes & SE_GROUP_LOGON_ID) == SE_GROUP_LOGON_ID)
                    copy = copy_sid(groups->Groups[i].Sid);
        }
        if (copy == NULL && which != TokenGroups)
            *failed = "CopySid";
    }
    if (info != NULL)
        LocalFree(info);
    CloseHandle(token);
    return copy;
}

/* Whom an existing object may grant access to. */
struct principals {
    PSID user;  /* this user */
    PSID owner; /* the owner this process's new objects get */
    PSID logon; /* this logon session; NULL if the token names none */
    PSID system;
};

static void principals_free(struct principals *p)
{
    PSID *all[] = {&p->user, &p->owner, &p->logon, &p->system};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (*all[i] != NULL)
            LocalFree(*all[i]);
        *all[i] = NULL;
    }
}

/* false on failure, with *failed naming the call (GetLastError its error). */
static bool principals_get(struct principals *p, const char **failed)
{
    DWORD len = SECURITY_MAX_SID_SIZE;
    *failed = NULL;
    p->user = token_sid(TokenUser, failed);
    p->owner = *failed == NULL ? token_sid(TokenOwner, failed) : NULL;
    p->logon = *failed == NULL ? token_sid(TokenGroups, failed) : NULL; /* none is fine */
    p->system = *failed == NULL ? LocalAlloc(LPTR, len) : NULL;
    if (*failed == NULL && (p->system == NULL || p->user == NULL || p->owner == NULL))
        *failed = p->system == NULL ? "LocalAlloc" : "GetTokenInformation";
    if (*failed == NULL && !CreateWellKnownSid(WinLocalSystemSid, NULL, p->system, &len))
        *failed = "CreateWellKnownSid";
    if (*failed != NULL) {
        DWORD err = GetLastError();
        principals_free(p);
        SetLastError(err);
        return false;
    }
    return true;
}

static bool trusted(const struct principals *p, PSID sid)
{
    return EqualSid(sid, p->user) || EqualSid(sid, p->owner) || EqualSid(sid, p->system) ||
           (p->logon != NULL && EqualSid(sid, p->logon));
}

/* An owner-only security descriptor: a protected DACL granting the user all
 * access and nobody else anything, as the example's note on
 * SECURITY_ATTRIBUTES suggests. Free with LocalFree. NULL on failure, with
 * *failed naming the call (GetLastError its error). */
static PSECURITY_DESCRIPTOR owner_only(PSID user, const char **failed)
{
    LPWSTR sid_text = NULL;
    PSECURITY_DESCRIPTOR sd = NULL;
    if (!ConvertSidToStringSidW(user, &sid_text)) {
        *failed = "ConvertSidToStringSidW";
        return NULL;
    }
    wchar_t sddl[256];
    (void)_snwprintf(sddl, sizeof sddl / sizeof sddl[0], L"O:%lsD:P(A;;GA;;;%ls)", sid_text,
                     sid_text);
    sddl[sizeof sddl / sizeof sddl[0] - 1] = L'\0';
    if (!sys_convert_sd(sddl, &sd)) {
        *failed = g_sys[SYS_CONVERT_SD].name;
        sd = NULL;
    }
    DWORD err = GetLastError();
    LocalFree(sid_text);
    SetLastError(err);
    return sd;
}

static DWORD sys_get_security_info(HANDLE h, PSID *owner, PACL *dacl, PSECURITY_DESCRIPTOR *sd)
{
    if (injected(SYS_GET_SECURITY_INFO))
        return GetLastError();
    return GetSecurityInfo(h, SE_KERNEL_OBJECT,
                           OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, owner, NULL,
                           dacl, NULL, sd);
}

static const char *sid_text(PSID sid, char *buf, size_t len)
{
    LPSTR s = NULL;
    (void)snprintf(buf, len, "%s", "an unreadable SID");
    if (IsValidSid(sid) && ConvertSidToStringSidA(sid, &s)) {
        (void)snprintf(buf, len, "%s", s);
        LocalFree(s);
    }
    return buf;
}

/* INSECURE unless every entry that grants anything names a trusted SID.
 * Deny entries only take access away; an entry of a kind this code does not
 * know is refused rather than guessed at. */
static dllmem_status check_dacl(const ACL *dacl, const struct principals *us, const char *what,
                                const char *name, struct dllmem_reason *why)
{
    char sid[192];
    for (DWORD i = 0; i < dacl->AceCount; i++) {
        ACE_HEADER *ace = NULL;
        if (!GetAce((PACL)dacl, i, (void **)&ace)) {
            dllmem_reason_set(why, "the %s \"%s\": access entry %lu cannot be read", what, name,
                              (unsigned long)i);
            return DLLMEM_INSECURE;
        }
        switch (ace->AceType) {
        case ACCESS_DENIED_ACE_TYPE:
        case ACCESS_DENIED_CALLBACK_ACE_TYPE:
        case ACCESS_DENIED_OBJECT_ACE_TYPE:
        case ACCESS_DENIED_CALLBACK_OBJECT_ACE_TYPE: continue;
        case ACCESS_ALLOWED_ACE_TYPE:
        case ACCESS_ALLOWED_CALLBACK_ACE_TYPE: {
            const ACCESS_ALLOWED_ACE *allow = (const ACCESS_ALLOWED_ACE *)ace;
            PSID who = (PSID)(uintptr_t)&allow->SidStart;
            if (allow->Mask == 0 || (IsValidSid(who) && trusted(us, who)))
                continue;
            dllmem_reason_set(why,
                              "the %s \"%s\" grants access (mask 0x%08lx) to %s, not only to "
                              "this user",
                              what, name, (unsigned long)allow->Mask,
                              sid_text(who, sid, sizeof sid));
            return DLLMEM_INSECURE;
        }
        default:
            dllmem_reason_set(why,
                              "the %s \"%s\" has an access entry of type %u, which is not "
                              "judged here",
                              what, name, (unsigned)ace->AceType);
            return DLLMEM_INSECURE;
        }
    }
    return DLLMEM_OK;
}

/* The checks an object someone else created must pass (see the top). */
static dllmem_status check_existing(HANDLE h, const struct principals *us, const char *what,
                                    const char *name, struct dllmem_reason *why)
{
    PSID owner = NULL;
    PACL dacl = NULL;
    PSECURITY_DESCRIPTOR sd = NULL;
    SECURITY_DESCRIPTOR_CONTROL control = 0;
    DWORD revision = 0;
    DWORD err = sys_get_security_info(h, &owner, &dacl, &sd);
    if (err == ERROR_SUCCESS &&
        (sd == NULL || !GetSecurityDescriptorControl(sd, &control, &revision)))
        err = GetLastError() != ERROR_SUCCESS ? GetLastError() : ERROR_INVALID_SECURITY_DESCR;
    if (err != ERROR_SUCCESS) {
        struct dllmem_reason call;
        win_error_reason(&call, name, "GetSecurityInfo", err);
        dllmem_reason_set(why, "cannot tell who may open the %s: %s; refused", what, call.text);
        if (sd != NULL)
            LocalFree(sd);
        return DLLMEM_OS_ERROR; /* fail closed */
    }
    bool dacl_present = (control & SE_DACL_PRESENT) != 0;
    dllmem_status st = DLLMEM_OK;
    char sid[192];
    if (owner == NULL && !dacl_present) {
        /* No security at all: Wine's default-security objects. */
    } else if (owner == NULL || !IsValidSid(owner) ||
               (!EqualSid(owner, us->user) && !EqualSid(owner, us->owner))) {
        dllmem_reason_set(why, "the %s \"%s\" is owned by another user (%s)", what, name,
                          owner != NULL ? sid_text(owner, sid, sizeof sid) : "no owner named");
        st = DLLMEM_FOREIGN_OWNER;
    } else if (dacl == NULL) {
        dllmem_reason_set(why, "the %s \"%s\" has no access list: anyone may open it", what, name);
        st = DLLMEM_INSECURE;
    } else {
        st = check_dacl(dacl, us, what, name, why);
    }
    LocalFree(sd);
    return st;
}

/* Creates the named mutex owner-only, or opens the existing one and checks it. */
static dllmem_status open_mutex(const wchar_t *wname, SECURITY_ATTRIBUTES *sa,
                                const struct principals *us, const char *what, const char *name,
                                HANDLE *out, struct dllmem_reason *why)
{
    HANDLE m = sys_create_mutex(sa, wname);
    if (m == NULL) {
        bool kind = GetLastError() == ERROR_INVALID_HANDLE;
        win_reason(why, name, "CreateMutexW");
        return kind ? DLLMEM_WRONG_KIND : DLLMEM_OS_ERROR;
    }
    dllmem_status st =
        GetLastError() == ERROR_ALREADY_EXISTS ? check_existing(m, us, what, name, why) : DLLMEM_OK;
    if (st != DLLMEM_OK) {
        CloseHandle(m);
        return st;
    }
    *out = m;
    return DLLMEM_OK;
}

static dllmem_status lock(HANDLE mutex, DWORD wait_ms, const char *name, struct dllmem_reason *why)
{
    DWORD r = sys_wait(mutex, wait_ms);
    if (r == WAIT_OBJECT_0 || r == WAIT_ABANDONED)
        return DLLMEM_OK; /* abandoned: its holder died; the core repairs */
    if (r == WAIT_TIMEOUT) {
        dllmem_reason_set(why, "\"%s\" stayed locked for %lu ms", name, (unsigned long)wait_ms);
        return DLLMEM_TIMEOUT;
    }
    win_reason(why, name, "WaitForSingleObject");
    return DLLMEM_OS_ERROR;
}

/* Maps the object and lets the core decide what it is. Called holding the
 * attach mutex. */
static dllmem_status map_and_adopt(HANDLE map, bool created, uint64_t page,
                                   struct dllmem_segment *seg, struct dllmem_reason *why)
{
    unsigned char *base = sys_map_view(map);
    if (base == NULL) {
        win_reason(why, seg->config.name, "MapViewOfFile");
        return DLLMEM_OS_ERROR;
    }
    MEMORY_BASIC_INFORMATION mbi;
    if (sys_virtual_query(base, &mbi) == 0) {
        win_reason(why, seg->config.name, "VirtualQuery");
        UnmapViewOfFile(base);
        return DLLMEM_OS_ERROR;
    }
    dllmem_status refusal = DLLMEM_OK;
    switch (dllmem_adopt(seg, base, mbi.RegionSize,
                         created ? DLLMEM_ROLE_CREATED : DLLMEM_ROLE_JOINING, page, &refusal,
                         why)) {
    case DLLMEM_ADOPT_USE: return DLLMEM_OK;
    case DLLMEM_ADOPT_REFUSE: break;
    case DLLMEM_ADOPT_RETRY:
    case DLLMEM_ADOPT_INIT: {
        /* Its initializer died and a process outside dllmem keeps it open:
         * going round would only meet it again. */
        struct dllmem_reason inner = *why;
        dllmem_reason_set(why, "%s; another process keeps it open", inner.text);
        refusal = DLLMEM_BAD_CONTROL_BLOCK;
        break;
    }
    }
    UnmapViewOfFile(base);
    return refusal;
}

dllmem_status dllmem_os_attach(const struct dllmem_config *cfg, struct dllmem_segment *seg,
                               struct dllmem_reason *why)
{
    enum { WIDE = DLLMEM_NAME_MAX + 64 };
    wchar_t map_name[WIDE], lock_name[WIDE], attach_name[WIDE];
    char lock_label[DLLMEM_NAME_MAX + 32], attach_label[DLLMEM_NAME_MAX + 32];
    if (wide_name(cfg->name, "", map_name, WIDE) == 0 ||
        wide_name(cfg->name, DLLMEM_LOCK_SUFFIX, lock_name, WIDE) == 0 ||
        wide_name(cfg->name, DLLMEM_ATTACH_SUFFIX, attach_name, WIDE) == 0) {
        dllmem_reason_set(why, "DLLMEM_NAME \"%s\" is not valid UTF-8", cfg->name);
        return DLLMEM_BAD_CONFIG;
    }
    (void)snprintf(lock_label, sizeof lock_label, "%s" DLLMEM_LOCK_SUFFIX, cfg->name);
    (void)snprintf(attach_label, sizeof attach_label, "%s" DLLMEM_ATTACH_SUFFIX, cfg->name);
    load_test_hooks();
    struct principals us = {NULL, NULL, NULL, NULL};
    const char *failed = NULL;
    if (!principals_get(&us, &failed)) {
        win_reason(why, cfg->name, failed); /* reading this process's token */
        return DLLMEM_OS_ERROR;
    }
    PSECURITY_DESCRIPTOR sd = owner_only(us.user, &failed);
    if (sd == NULL) {
        win_reason(why, cfg->name, failed); /* an owner-only security descriptor */
        principals_free(&us);
        return DLLMEM_OS_ERROR;
    }
    SECURITY_ATTRIBUTES sa = {sizeof sa, sd, FALSE};
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    const uint64_t page = si.dwPageSize;
    HANDLE attach = NULL, mutex = NULL, map = NULL;

    dllmem_status st =
        open_mutex(attach_name, &sa, &us, "attach mutex", attach_label, &attach, why);
    if (st == DLLMEM_OK) {
        st = lock(attach, g_attach_wait_ms, attach_label, why);
        if (st == DLLMEM_TIMEOUT)
            dllmem_reason_set(why,
                              "\"%s\" stayed locked for %lu ms: another process is stuck "
                              "attaching, and DllMain waits no longer under the loader lock",
                              attach_label, (unsigned long)g_attach_wait_ms);
        if (st != DLLMEM_OK) {
            CloseHandle(attach);
            attach = NULL;
        }
    }
    if (st == DLLMEM_OK)
        st = open_mutex(lock_name, &sa, &us, "writer mutex", lock_label, &mutex, why);
    if (st == DLLMEM_OK) {
        uint64_t bytes = dllmem_object_bytes(cfg->data_bytes, page);
        map = sys_create_file_mapping(&sa, bytes, map_name);
        if (map == NULL) {
            bool kind = GetLastError() == ERROR_INVALID_HANDLE;
            win_reason(why, cfg->name, "CreateFileMappingW");
            st = kind ? DLLMEM_WRONG_KIND : DLLMEM_OS_ERROR;
        } else {
            bool created = GetLastError() != ERROR_ALREADY_EXISTS;
            st = created ? DLLMEM_OK : check_existing(map, &us, "mapping", cfg->name, why);
            if (st == DLLMEM_OK)
                st = map_and_adopt(map, created, page, seg, why);
        }
    }
    if (attach != NULL) {
        ReleaseMutex(attach);
        CloseHandle(attach); /* only attaching needs it */
    }
    if (st != DLLMEM_OK) {
        if (map != NULL)
            CloseHandle(map);
        if (mutex != NULL)
            CloseHandle(mutex);
    } else {
        g_os.map = map;
        g_os.writer = mutex;
        seg->os = &g_os;
    }
    LocalFree(sd);
    principals_free(&us);
    return st;
}

void dllmem_os_detach(struct dllmem_segment *seg)
{
    UnmapViewOfFile(seg->base);
    CloseHandle(seg->os->map);
    CloseHandle(seg->os->writer);
    seg->os->map = seg->os->writer = NULL;
    seg->base = NULL;
}

dllmem_status dllmem_os_writer_lock(struct dllmem_segment *seg)
{
    struct dllmem_reason ignored;
    return lock(seg->os->writer, g_writer_wait_ms, seg->config.name, &ignored);
}

void dllmem_os_writer_unlock(struct dllmem_segment *seg) { ReleaseMutex(seg->os->writer); }

void dllmem_os_yield(void) { SwitchToThread(); }

void dllmem_os_pause(void) { Sleep(1); }

void dllmem_os_describe(const struct dllmem_segment *seg, char *path, size_t path_len,
                        int64_t *attached)
{
    (void)dllmem_object_name(path, path_len, seg->config.name, "");
    *attached = -1; /* Windows does not say how many handles an object has */
}

void dllmem_os_default_name(char *buf, size_t len)
{
    /* Local\ is per session: other users' sessions cannot see or squat it. */
    (void)snprintf(buf, len, "%s", DLLMEM_DEFAULT_NAME);
}

#    if defined(DLLMEM_TESTING)
/* Test builds: a writer told to stop mid-write sleeps there holding the mutex
 * until it is terminated, which abandons the mutex; DLLMEM_TEST_PAUSE_MIDWRITE_MS=N
 * makes every Set sleep there N ms (under 1 s), as on POSIX. */
void dllmem_os_test_midwrite(void)
{
    const char *stop = getenv("DLLMEM_TEST_STOP_MIDWRITE");
    if (stop != NULL && stop[0] == '1') {
        fputs("midwrite\n", stdout);
        fflush(stdout);
        Sleep(INFINITE);
    }
    const char *pause = getenv("DLLMEM_TEST_PAUSE_MIDWRITE_MS");
    DWORD ms = pause != NULL ? (DWORD)(strtoul(pause, NULL, 10) % 1000u) : 0u;
    if (ms > 0)
        Sleep(ms);
}
#    else
void dllmem_os_test_midwrite(void) {}
#    endif
/* Crash points are a POSIX test feature (SIGSTOP); Windows ignores them. */
void dllmem_os_test_store_point(void) {}

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
