// The harness's own child roles: each loads the library itself (so its
// attach races others'), does one bounded job, and reports on stdout. argv[0]
// is the library path. The roles the stress runner uses too (worker, holder,
// get, trivial) are the shim's (shim_roles.c).
#include "fixture.h"

#include <signal.h>
#include <unistd.h>
#if !defined(_WIN32)
#include <pwd.h>
#endif

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <thread>

namespace {

bool load(shim_lib *lib, const char *path) {
  char err[512];
  if (!shim_lib_load(lib, path, err, sizeof err)) {
    fprintf(stderr, "role: %s\n", err);
    return false;
  }
  return true;
}

size_t capacity_of(const shim_lib &lib) { return shim_lib_capacity(&lib); }

// set LIB TEXT: stores TEXT and detaches.
int role_set(int argc, char **argv) {
  shim_lib lib;
  if (argc < 2 || !load(&lib, argv[0])) return 10;
  units u = widen(argv[1]);
  lib.set(u.data());
  shim_lib_unload(&lib);
  return 0;
}

volatile sig_atomic_t g_stop;
void on_term(int) { g_stop = 1; }

// hold LIB [TEXT]: attaches (and stores TEXT), says "ready", then waits for
// SIGTERM (clean detach) or SIGKILL (crash); gives up by itself after 60 s.
int role_hold(int argc, char **argv) {
  signal(SIGTERM, on_term);
  shim_lib lib;
  if (argc < 1 || !load(&lib, argv[0])) return 10;
  if (argc >= 2) {
    units u = widen(argv[1]);
    lib.set(u.data());
  }
  printf("ready\n");
  fflush(stdout);
  for (int i = 0; i < 6000 && !g_stop; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  shim_lib_unload(&lib);
  return 0;
}

// setfor LIB ID MS: stores self-checking messages for MS milliseconds, then
// prints "sets=N": how many Sets returned, for tests that account for them.
int role_setfor(int argc, char **argv) {
  shim_lib lib;
  if (argc < 3 || !load(&lib, argv[0])) return 10;
  uint32_t id = static_cast<uint32_t>(atoi(argv[1]));
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(atol(argv[2]));
  units msg(capacity_of(lib), 0);
  long sets = 0;
  while (std::chrono::steady_clock::now() < until) {
    shim_msg_make(msg.data(), SHIM_MSG_HEADER + static_cast<size_t>(sets) % 300, id,
                  static_cast<uint32_t>(sets));
    lib.set(msg.data());
    sets++;
  }
  printf("sets=%ld\n", sets);
  shim_lib_unload(&lib);
  return 0;
}

// readcheck LIB: one read into a poisoned buffer; prints what it was:
// "message LEN WRITER SEQ", "empty", "untouched" or "torn LEN".
int role_readcheck(int argc, char **argv) {
  shim_lib lib;
  if (argc < 1 || !load(&lib, argv[0])) return 10;
  size_t cap = capacity_of(lib);
  units buf(cap, 0);
  shim_poison(buf.data(), cap);
  lib.get(buf.data(), static_cast<uint32_t>(cap));
  size_t n = 0;
  uint32_t w = 0, s = 0;
  shim_read_kind k = shim_msg_read(buf.data(), cap, &n, &w, &s);
  if (k == SHIM_READ_MESSAGE)
    printf("message %zu %u %u\n", n, w, s);
  else
    printf("%s %zu\n", shim_read_kind_name(k), n);
  shim_lib_unload(&lib);
  return 0;
}

// attach LIB [TEXT]: prints the attach status name, then (with TEXT) stores
// TEXT and prints that Set's status name: what a process configured
// differently (DLLMEM_SIZE, ...) gets, and whether its Set went anywhere.
int role_attach(int argc, char **argv) {
  shim_lib lib;
  if (argc < 1 || !load(&lib, argv[0])) return 10;
  if (!shim_lib_is_extended(&lib)) {
    printf("no-extended-api\n");
    shim_lib_unload(&lib);
    return 0;
  }
  printf("%s\n", lib.x_status_name(lib.x_attach_status()));
  if (argc >= 2) {
    units u = widen(argv[1]);
    lib.set(u.data());
    printf("%s\n", lib.x_status_name(lib.x_last_status()));
  }
  shim_lib_unload(&lib);
  return 0;
}

// churn LIB COUNT: loads and unloads COUNT times as fast as it can.
int role_churn(int argc, char **argv) {
  if (argc < 2) return 10;
  long count = atol(argv[1]);
  for (long i = 0; i < count; i++) {
    shim_lib lib;
    if (!load(&lib, argv[0])) return 10;
    shim_lib_unload(&lib);
  }
  return 0;
}

// scribble NAME MODE: writes hostile bytes straight into the mapping.
//   noterm: fills the data area with 'A' and no terminator;
//   garbage: fills everything with pseudo-random bytes;
//   hugelen: sets every 32-bit word of the control block to 0xFFFFFFFF.
int role_scribble(int argc, char **argv) {
  if (argc < 3) return 10;
  uint64_t size = 0;
  unsigned char *p = static_cast<unsigned char *>(shim_segment_map(argv[0], &size));
  if (!p) return 11;
  uint64_t data = static_cast<uint64_t>(atoll(argv[2]));
  std::string mode = argv[1];
  if (mode == "noterm") {
    for (uint64_t i = 0; i + 1 < data; i += 2) {
      p[i] = 'A';
      p[i + 1] = 0;
    }
  } else if (mode == "garbage") {
    std::mt19937 rng(12345);
    for (uint64_t i = 0; i < size; i++) p[i] = static_cast<unsigned char>(rng() | 1u);
  } else if (mode == "hugelen") {
    const shim_layout l = shim_layout_of(static_cast<uint32_t>(data));
    for (uint64_t i = l.ctl + l.seq_at; i + 4 <= size && i < l.ctl + l.ctl_bytes; i += 4)
      memset(p + i, 0xFF, 4);
    for (uint64_t i = 0; i + 1 < data; i += 2) {
      p[i] = 'B';
      p[i + 1] = 0;
    }
  } else {
    return 12;
  }
  shim_segment_unmap(p, size);
  return 0;
}

#if !defined(_WIN32)  // users and setuid are POSIX
// nobody-create NAME SIZE: as user nobody, creates a world-writable object.
int role_nobody_create(int argc, char **argv) {
  if (argc < 2) return 10;
  struct passwd *pw = getpwnam("nobody");
  if (!pw || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) return 11;
  return shim_segment_create(argv[0], static_cast<uint64_t>(atoll(argv[1])), 'Z', 0666) ? 0 : 12;
}

// nobody-attach LIB: as user nobody, loads the library, prints the attach
// status name ("no-extended-api" for a library without one) and tries a Set.
int role_nobody_attach(int argc, char **argv) {
  if (argc < 1) return 10;
  struct passwd *pw = getpwnam("nobody");
  if (!pw || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) return 11;
  shim_lib lib;
  if (!load(&lib, argv[0])) return 10;
  printf("%s\n",
         shim_lib_is_extended(&lib) ? lib.x_status_name(lib.x_attach_status()) : "no-extended-api");
  units u = widen("intruder");  // must not reach the other user's object
  lib.set(u.data());
  shim_lib_unload(&lib);
  return 0;
}

#endif

}  // namespace

#if !defined(_WIN32)
int role_forked_writer(int argc, char **argv);    // survival_test.cc
int role_exit_busy(int argc, char **argv);        // survival_test.cc
int role_cancel_waiter(int argc, char **argv);    // survival_test.cc
int role_crashpoint_hold(int argc, char **argv);  // crashpoint_test.cc
#endif

// The harness's own roles; the shim's common ones (worker, holder, get,
// trivial) come after them in the one dispatcher (main.cc).
extern const shim_role harness_roles[] = {
    {"set", role_set},
    {"hold", role_hold},
    {"setfor", role_setfor},
    {"readcheck", role_readcheck},
    {"churn", role_churn},
    {"attach", role_attach},
    {"scribble", role_scribble},
#if !defined(_WIN32)
    {"nobody-create", role_nobody_create},
    {"nobody-attach", role_nobody_attach},
    {"forked-writer", role_forked_writer},
    {"exit-busy", role_exit_busy},
    {"cancel-waiter", role_cancel_waiter},
    {"crashpoint-hold", role_crashpoint_hold},
#endif
    {nullptr, nullptr},
};
