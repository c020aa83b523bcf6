// Fixtures for the harness suites. Every test gets its own segment name, loads
// the library under test with it, and must leave no segment and no child.
#pragma once

#include "shim.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

// Set by main(): the library under test and, for the hardened build, its
// test-hook twin (empty when the suite runs against another library).
extern std::string g_library;
extern std::string g_hooks_library;
// False under --no-leak-check (canary runs: leaks are the Lifetime tests' job).
extern bool g_leak_check;

using units = std::vector<dllmem_unit>;

units make_units(size_t n, dllmem_unit fill_base = 'a');  // n units cycling a..z, plus NUL
units widen(const char *ascii);                           // with its terminator
units text(const char *ascii);                            // without: what GetAll returns

// The OS's name for segment name's object, plus suffix: the library's rule
// (dll/src/object_name.h, through shim_object_name).
std::string ObjectName(const std::string &name, const char *suffix = "");

class LibraryTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Loads lib_path (the library under test by default) with this test's name
  // and the given DLLMEM_SIZE ("" = unset).
  void Load(const std::string &size = "", const std::string &lib_path = "");
  void Unload();
  bool Loaded() const { return lib_.handle != nullptr; }

  // The whole stored string, read through the drop-in GetSharedMem.
  units GetAll(uint32_t cch = 1u << 16);
  void SetUnits(const units &u);  // u NUL-terminated
  size_t Capacity() const { return capacity_; }
  std::string EnvName() const { return "DLLMEM_NAME=" + name_; }
  bool HasExtendedApi() const { return shim_lib_is_extended(&lib_); }

  // Starts a writer child from the test-hook build that stops (SIGSTOP; on
  // Windows it sleeps) halfway through copying a message into the data area,
  // holding the writer lock: seq odd, the data area half new.
  void StartWriterStoppedMidWrite(shim_child *writer);

  // Starts a child that attaches `lib` (role hold) and idles until stopped;
  // returns once it is attached. extra_env: one more VAR=value, or "".
  void StartHolder(shim_child *holder, const std::string &lib, const std::string &extra_env = "");
  // Ends a holder (SIGTERM); it must detach and exit 0.
  void StopHolder(shim_child *holder);

  // True when this platform can count attached processes (POSIX can,
  // Windows cannot); Load() first.
  bool CanCountAttached();

  // Fault injection, for the test-hook build (c-ares's SetAllocFail): the
  // next Load's attach makes `call`, a name in the backend's syscall table
  // ("mmap", "MapViewOfFile", ...), fail every time (nth 0) or only at its
  // nth call since attach. Faults add up; all are disarmed after the test.
  void InjectFault(const std::string &call, int nth = 0);
  void ClearFaults();
  // Another hook of the test-hook build, named without its DLLMEM_TEST_
  // prefix: SetHook("WAIT_MS", "200"). Cleared after the test.
  void SetHook(const std::string &name, const std::string &value);

  std::string name_;
  shim_lib lib_{};
  size_t capacity_ = DLLMEM_DEFAULT_SIZE / 2;
  bool expect_no_segment_ = true;  // TearDown's leak check

 private:
  std::string faults_;              // DLLMEM_TEST_FAIL as armed
  std::vector<std::string> hooks_;  // DLLMEM_TEST_* variables set by SetHook
};

// Suites of the test-hook build; they skip when the run has none.
class HookTest : public LibraryTest {
 protected:
  void SetUp() override;
};

// Tests that need the dllmem_* API skip on libraries without it.
class ExtendedTest : public LibraryTest {
 protected:
  void SetUp() override;
};

// Every read in the tearing and crash tests is classified. Once a test has
// stored its first message, only whole messages are valid: an empty read is a
// lost value, a still-poisoned buffer a Get that did not write.
struct ReadTally {
  long reads = 0, messages = 0, empty = 0, untouched = 0, torn = 0;
  long changes = 0;  // reads whose message differed from this reader's previous one
  uint32_t last_w = 0, last_s = 0;
  void Add(const dllmem_unit *buf, size_t cap);
  void Merge(const ReadTally &o);
  long Bad() const { return empty + untouched + torn; }
  std::string Describe() const;  // "N reads: M messages, E empty (lost), ..."
};
// Poisons buf, reads it whole through lib's GetSharedMem, and tallies the read.
void ReadChecked(const shim_lib &lib, units &buf, ReadTally &t);

// A peer's read-only view of a dllmem segment's sequence word (docs/layout.md),
// for tests that aim at or count the write window. Empty when the object is
// not a dllmem segment of this capacity (the canary's has no control block).
class SeqPeek {
 public:
  SeqPeek(const std::string &name, size_t capacity) {
    shim_peer_open(&peer_, name.c_str(), capacity);
  }
  ~SeqPeek() { shim_peer_close(&peer_); }
  SeqPeek(const SeqPeek &) = delete;
  SeqPeek &operator=(const SeqPeek &) = delete;
  bool ok() const { return peer_.seq != nullptr; }
  uint32_t seq() const { return shim_peer_seq(&peer_); }  // ok() only

 private:
  shim_peer peer_{};
};

// Runs `role` as a child with this test's segment name; returns its exit code.
int RunRole(const std::string &name, const std::string &role, std::vector<std::string> args,
            int timeout_ms = 30000, std::string *out = nullptr, std::vector<std::string> env = {});

// Child-process roles: the harness's own (roles.cc), dispatched by main()
// for `--role NAME` after the shim's common ones. {nullptr, nullptr} ends it.
extern const shim_role harness_roles[];
