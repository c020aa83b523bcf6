// Lifetime: as on Windows, the first attacher sees an empty string and the
// segment goes away with the last process, crashed ones included.
#include "fixture.h"

#include <signal.h>

#include <cstring>

namespace {

using Lifetime = LibraryTest;

TEST_F(Lifetime, LastDetachRemovesTheSegment) {
  Load();
  SetUnits(widen("x"));
  EXPECT_TRUE(shim_segment_exists(name_.c_str()));
  Unload();
  EXPECT_FALSE(shim_segment_exists(name_.c_str()));
}

TEST_F(Lifetime, AnotherProcessKeepsTheStringAlive) {
  Load();
  shim_child holder;
  std::string env = EnvName();
  const char *envp[] = {env.c_str(), nullptr};
  const char *args[] = {g_library.c_str(), nullptr};
  ASSERT_TRUE(shim_spawn_role(&holder, "hold", args, envp));
  char line[32];
  ASSERT_TRUE(shim_child_read_line(&holder, 10000, line, sizeof line));
  SetUnits(widen("kept"));
  Unload();
  std::string out;
  EXPECT_EQ(RunRole(name_, "get", {g_library}, 10000, &out), 0);
  EXPECT_EQ(out, "kept\n");
  shim_child_kill(&holder, SIGTERM);
  shim_child_wait(&holder, 10000, nullptr, 0);
}

TEST_F(Lifetime, AfterEveryProcessCrashedTheNextAttacherStartsEmpty) {
  for (int i = 0; i < 3; i++) {
    shim_child holder;
    std::string env = EnvName();
    const char *envp[] = {env.c_str(), nullptr};
    const char *args[] = {g_library.c_str(), "left-by-the-dead", nullptr};
    ASSERT_TRUE(shim_spawn_role(&holder, "hold", args, envp));
    char line[32];
    ASSERT_TRUE(shim_child_read_line(&holder, 10000, line, sizeof line));
  }
  shim_reap_all();  // SIGKILL: nobody detaches
  Load();
  EXPECT_TRUE(GetAll().empty()) << "a crashed session's string survived";
  Unload();
  EXPECT_FALSE(shim_segment_exists(name_.c_str()));
}

// An attach that races the last detach must never end up alone on an
// unlinked object: the string this process stores must be what the next
// attacher reads, however the churning child's detaches interleave.
TEST_F(Lifetime, AttachRacingTheLastDetachNeverEndsOnAnOrphan) {
  std::string env = EnvName();
  const char *envp[] = {env.c_str(), nullptr};
  const char *args[] = {g_library.c_str(), "100000", nullptr};
  shim_child churn;
  ASSERT_TRUE(shim_spawn_role(&churn, "churn", args, envp));
  int mismatches = 0;
  for (int i = 0; i < 100; i++) {
    Load();
    std::string text = "round-" + std::to_string(i);
    SetUnits(widen(text.c_str()));
    std::string out;
    RunRole(name_, "get", {g_library}, 10000, &out);
    if (out != text + "\n") mismatches++;
    Unload();
  }
  shim_child_kill(&churn, SIGKILL);
  shim_child_wait(&churn, 10000, nullptr, 0);
  EXPECT_EQ(mismatches, 0);
  shim_segment_remove(name_.c_str());  // churn was killed: it may have held the last share
}

TEST_F(Lifetime, AThousandLoadUnloadCyclesLeakNoFdAndNoMapping) {
  Load();
  Unload();
  int fds = shim_count_fds(), maps = shim_count_maps();
  for (int i = 0; i < 1000; i++) {
    Load();
    if (i % 100 == 0) SetUnits(widen("cycle"));
    Unload();
  }
  EXPECT_EQ(shim_count_fds(), fds);
  EXPECT_LE(shim_count_maps(), maps + 2);  // the loader may keep a page or two of its own
  EXPECT_FALSE(shim_segment_exists(name_.c_str()));
}

}  // namespace

namespace {

// Found by the stress runner: an attacher killed inside initialization (fields
// written, magic not yet) must not poison the name for everyone after it.
TEST_F(Lifetime, AnInitializerKilledBeforeItsMagicDoesNotPoisonTheName) {
  const shim_layout l = shim_layout_of(DLLMEM_DEFAULT_SIZE);
  ASSERT_TRUE(shim_segment_create(name_.c_str(), l.mapping, 0, 0600));
  uint64_t size = 0;
  unsigned char *p = static_cast<unsigned char *>(shim_segment_map(name_.c_str(), &size));
  ASSERT_NE(p, nullptr);
  shim_layout_put_header(p, &l, 0, l.version, DLLMEM_DEFAULT_SIZE);  // everything but the magic
  shim_segment_unmap(p, size);
  Load();
  if (HasExtendedApi()) {
    EXPECT_EQ(lib_.x_attach_status(), DLLMEM_OK) << lib_.x_attach_reason();
  }
  SetUnits(widen("recovered"));
  EXPECT_EQ(GetAll(), text("recovered"));
}

}  // namespace
