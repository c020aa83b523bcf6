// Crash safety: a writer killed at any instant, mid-write included, neither
// wedges the others nor leaves a torn string visible.
#include "fixture.h"

#include <chrono>
#include <random>
#include <thread>

namespace {

using CrashSafety = LibraryTest;

long long ElapsedMs(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               t0)
      .count();
}

// Deterministic window: the test build of the library stops its writer with
// SIGSTOP halfway through copying into the data area (seq odd, D half new).
TEST_F(CrashSafety, WriterKilledHalfwayThroughTheDataAreaLeavesAWholeString) {
  if (g_hooks_library.empty()) GTEST_SKIP() << "needs the library's test-hook build";
  Load();
  units first(Capacity(), 0), second(Capacity(), 0);
  shim_msg_make(first.data(), 1500, 1, 1);
  shim_msg_make(second.data(), 1800, 2, 2);
  SetUnits(first);

  shim_child writer;
  StartWriterStoppedMidWrite(&writer);
  if (HasFatalFailure()) return;

  // Stopped mid-write: readers see one whole message, never a mix.
  units got = GetAll(static_cast<uint32_t>(Capacity()));
  EXPECT_TRUE(shim_msg_valid(got.data(), got.size())) << "torn while the writer is stopped";

  shim_child_kill(&writer, SIGKILL);
  EXPECT_EQ(shim_child_wait(&writer, 10000, nullptr, 0), 128 + SIGKILL);
  got = GetAll(static_cast<uint32_t>(Capacity()));
  EXPECT_TRUE(shim_msg_valid(got.data(), got.size())) << "torn after the writer died";

  // The next writer takes over the dead writer's lock at once.
  auto t0 = std::chrono::steady_clock::now();
  units third(Capacity(), 0);
  shim_msg_make(third.data(), 700, 3, 3);
  SetUnits(third);
  EXPECT_LT(ElapsedMs(t0), 2000) << "the next Set waited on a dead writer";
  got = GetAll(static_cast<uint32_t>(Capacity()));
  EXPECT_EQ(got, units(third.begin(), third.begin() + 700));
}

// Any library: writers killed at random moments while this process reads.
TEST_F(CrashSafety, WritersKilledAtRandomNeitherWedgeNorTear) {
  Load();
  std::mt19937 rng(42);
  std::string env = EnvName();
  const char *envp[] = {env.c_str(), nullptr};
  units buf(Capacity(), 0);
  long reads = 0, torn = 0;
  for (int round = 0; round < 30; round++) {
    std::string id = std::to_string(round + 1);
    const char *args[] = {g_library.c_str(), id.c_str(), "100000000", nullptr};
    shim_child w;
    ASSERT_TRUE(shim_spawn_role(&w, "writer", args, envp));
    char line[32];
    ASSERT_TRUE(shim_child_read_line(&w, 10000, line, sizeof line));
    auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(500 + rng() % 20000);
    while (std::chrono::steady_clock::now() < until) {
      lib_.get(buf.data(), static_cast<uint32_t>(Capacity()));
      reads++;
      if (!shim_msg_valid(buf.data(), shim_ulen(buf.data()))) torn++;
    }
    shim_child_kill(&w, SIGKILL);
    shim_child_wait(&w, 10000, nullptr, 0);
    for (int i = 0; i < 200; i++, reads++) {
      lib_.get(buf.data(), static_cast<uint32_t>(Capacity()));
      if (!shim_msg_valid(buf.data(), shim_ulen(buf.data()))) torn++;
    }
    auto t0 = std::chrono::steady_clock::now();
    units mine(Capacity(), 0);
    shim_msg_make(mine.data(), 100, 999, static_cast<uint32_t>(round));
    SetUnits(mine);
    ASSERT_LT(ElapsedMs(t0), 2000) << "Set wedged after a writer was killed";
  }
  EXPECT_EQ(torn, 0) << "torn reads out of " << reads;
}

}  // namespace
