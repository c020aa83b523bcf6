#include "fixture.h"

#include <csignal>
#include <cstdlib>
#include <cstring>

std::string g_library;
std::string g_hooks_library;
bool g_leak_check = true;

units make_units(size_t n, dllmem_unit fill_base) {
  units u(n + 1, 0);
  for (size_t i = 0; i < n; i++) u[i] = static_cast<dllmem_unit>(fill_base + i % 26);
  return u;
}

units widen(const char *ascii) {
  units u(strlen(ascii) + 1, 0);
  shim_widen(u.data(), ascii);
  return u;
}

units text(const char *ascii) {
  units u = widen(ascii);
  u.pop_back();
  return u;
}

void LibraryTest::SetUp() {
  const ::testing::TestInfo *info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string tag = std::string(info->test_suite_name()).substr(0, 24);
  for (char &c : tag)
    if (c == '/') c = '_';
  char buf[128];
  shim_unique_name(buf, sizeof buf, tag.c_str());
  name_ = buf;
  shim_setenv("DLLMEM_NAME", name_.c_str());
  shim_unsetenv("DLLMEM_SIZE");
  shim_unsetenv("DLLMEM_TEST_FAIL");
  shim_unsetenv("DLLMEM_TEST_STOP_MIDWRITE");
}

void LibraryTest::TearDown() {
  Unload();
  ClearFaults();
  for (const std::string &v : hooks_) shim_unsetenv(v.c_str());
  hooks_.clear();
  int leftover_children = shim_reap_all();
  EXPECT_EQ(leftover_children, 0) << "a test left child processes running";
  bool leaked = shim_segment_remove(name_.c_str());
  if (expect_no_segment_ && g_leak_check) {
    EXPECT_FALSE(leaked) << "segment /dev/shm/" << name_ << " was left behind";
  }
}

void LibraryTest::Load(const std::string &size, const std::string &lib_path) {
  ASSERT_FALSE(Loaded());
  if (size.empty())
    shim_unsetenv("DLLMEM_SIZE");
  else
    shim_setenv("DLLMEM_SIZE", size.c_str());
  char err[512];
  const std::string &path = lib_path.empty() ? g_library : lib_path;
  ASSERT_TRUE(shim_lib_load(&lib_, path.c_str(), err, sizeof err)) << err;
  capacity_ = shim_lib_capacity(&lib_);
}

void LibraryTest::Unload() { shim_lib_unload(&lib_); }

// The backend reads DLLMEM_TEST_FAIL=call[@N][,call[@N]...] at attach.
void LibraryTest::InjectFault(const std::string &call, int nth) {
  if (!faults_.empty()) faults_ += ",";
  faults_ += call;
  if (nth > 0) faults_ += "@" + std::to_string(nth);
  shim_setenv("DLLMEM_TEST_FAIL", faults_.c_str());
}

void LibraryTest::ClearFaults() {
  faults_.clear();
  shim_unsetenv("DLLMEM_TEST_FAIL");
}

void LibraryTest::SetHook(const std::string &name, const std::string &value) {
  std::string var = "DLLMEM_TEST_" + name;
  shim_setenv(var.c_str(), value.c_str());
  hooks_.push_back(var);
}

void HookTest::SetUp() {
  LibraryTest::SetUp();
  if (g_hooks_library.empty()) GTEST_SKIP() << "needs the library's test-hook build";
}

void ReadTally::Add(const dllmem_unit *buf, size_t cap) {
  reads++;
  size_t n = 0;
  switch (shim_msg_classify(buf, cap, &n)) {
    case SHIM_READ_MESSAGE: {
      messages++;
      uint32_t w = 0, s = 0;
      shim_msg_ids(buf, n, &w, &s);
      if (messages > 1 && (w != last_w || s != last_s)) changes++;
      last_w = w;
      last_s = s;
      break;
    }
    case SHIM_READ_EMPTY:
      empty++;
      break;
    case SHIM_READ_UNTOUCHED:
      untouched++;
      break;
    case SHIM_READ_TORN:
      torn++;
      break;
  }
}

void ReadTally::Merge(const ReadTally &o) {
  reads += o.reads;
  messages += o.messages;
  empty += o.empty;
  untouched += o.untouched;
  torn += o.torn;
  changes += o.changes;
}

std::string ObjectName(const std::string &name, const char *suffix) {
  char out[512];
  if (!shim_object_name(out, sizeof out, name.c_str(), suffix)) ADD_FAILURE() << "name too long";
  return out;
}

std::string ReadTally::Describe() const {
  return std::to_string(reads) + " reads: " + std::to_string(messages) + " whole messages, " +
         std::to_string(empty) + " empty (lost values), " + std::to_string(untouched) +
         " untouched buffers, " + std::to_string(torn) + " torn; " + std::to_string(changes) +
         " saw a new value";
}

void ReadChecked(const shim_lib &lib, units &buf, ReadTally &t) {
  shim_poison(buf.data(), buf.size());
  lib.get(buf.data(), static_cast<uint32_t>(buf.size()));
  t.Add(buf.data(), buf.size());
}

units LibraryTest::GetAll(uint32_t cch) {
  units buf(cch, SHIM_POISON);
  lib_.get(buf.data(), cch);
  size_t n = 0;
  while (n < cch && buf[n] != 0) n++;
  EXPECT_LT(n, cch) << "GetSharedMem left its buffer unterminated";
  buf.resize(n);
  return buf;
}

void LibraryTest::SetUnits(const units &u) {
  units copy(u);
  lib_.set(copy.data());
}

void LibraryTest::StartHolder(shim_child *holder, const std::string &lib,
                              const std::string &extra_env) {
  std::string env = EnvName();
  const char *envp[] = {env.c_str(), extra_env.empty() ? nullptr : extra_env.c_str(), nullptr};
  const char *args[] = {lib.c_str(), nullptr};
  ASSERT_TRUE(shim_spawn_role(holder, "hold", args, envp));
  char line[32];
  ASSERT_TRUE(shim_child_read_line(holder, 10000, line, sizeof line))
      << "the holder never attached";
}

void LibraryTest::StopHolder(shim_child *holder) {
  shim_child_kill(holder, SIGTERM);
  EXPECT_EQ(shim_child_wait(holder, 10000, nullptr, 0), 0) << "a holder did not detach cleanly";
}

void LibraryTest::StartWriterStoppedMidWrite(shim_child *writer) {
  std::string env1 = EnvName(), env2 = "DLLMEM_TEST_STOP_MIDWRITE=1";
  const char *envp[] = {env1.c_str(), env2.c_str(), nullptr};
  const char *args[] = {g_hooks_library.c_str(), "w", "2", "1", "0", "0", "quiet", nullptr};
  ASSERT_TRUE(shim_spawn_role(writer, "worker", args, envp));
  ASSERT_TRUE(shim_child_wait_stopped(writer, 20000)) << "writer never reached the window";
}

bool LibraryTest::CanCountAttached() {
  dllmem_info probe;
  return HasExtendedApi() && lib_.x_get_info(&probe) == DLLMEM_OK && probe.attached >= 0;
}

void ExtendedTest::SetUp() {
  LibraryTest::SetUp();
  char err[512];
  shim_lib probe;
  // Probe without attaching anything lasting: the name is unique and unloaded at once.
  if (shim_lib_load(&probe, g_library.c_str(), err, sizeof err)) {
    bool ext = shim_lib_is_extended(&probe);
    shim_lib_unload(&probe);
    if (!ext) GTEST_SKIP() << "library has no dllmem_* extended API";
  }
}

int RunRole(const std::string &name, const std::string &role, std::vector<std::string> args,
            int timeout_ms, std::string *out, std::vector<std::string> env) {
  std::vector<const char *> a;
  for (auto &s : args) a.push_back(s.c_str());
  a.push_back(nullptr);
  env.push_back("DLLMEM_NAME=" + name);
  std::vector<const char *> e;
  for (auto &s : env) e.push_back(s.c_str());
  e.push_back(nullptr);
  shim_child c;
  if (!shim_spawn_role(&c, role.c_str(), a.data(), e.data())) return -3;
  std::string buf(1 << 16, '\0');
  int rc = shim_child_wait(&c, timeout_ms, &buf[0], buf.size());
  if (out) *out = buf.c_str();
  return rc;
}
