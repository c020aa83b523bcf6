// Crash safety: a writer killed at any instant, mid-write included, neither
// wedges the others nor leaves a torn string visible, and whatever repair
// makes of its half-done Set is read back whole, through the lock-free path
// and through the writer-lock fallback, before the next Set is read back too.
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

units Prefix(const units &u, size_t n) { return units(u.begin(), u.begin() + n); }

// What a read returned, as the readcheck role prints it.
std::string Describe(const units &got) {
  uint32_t w = 0, s = 0;
  if (shim_msg_ids(got.data(), got.size(), &w, &s))
    return "message " + std::to_string(got.size()) + " " + std::to_string(w) + " " +
           std::to_string(s) + "\n";
  return std::string(got.empty() ? "empty" : "torn") + " " + std::to_string(got.size()) + "\n";
}

// The old string (writer 1, seq 1, 1500 units) or the stopped writer's new
// one (writer 2, seq 0, any length), whole.
bool OldOrNew(const std::string &read) {
  size_t len = 0;
  unsigned w = 0, s = 0;
  if (sscanf(read.c_str(), "message %zu %u %u", &len, &w, &s) != 3) return false;
  return (w == 1 && s == 1 && len == 1500) || (w == 2 && s == 0);
}

// Deterministic window: the test build of the library stops its writer with
// SIGSTOP halfway through copying into the data area (seq odd, D half new).
TEST_F(CrashSafety, WriterKilledHalfwayThroughTheDataAreaLeavesAWholeString) {
  if (g_hooks_library.empty()) GTEST_SKIP() << "needs the library's test-hook build";
  Load();
  units first(Capacity(), 0);
  shim_msg_make(first.data(), 1500, 1, 1);
  SetUnits(first);

  // The hook writer (role writer, id 2, one Set) stores message (2, 0).
  shim_child writer;
  StartWriterStoppedMidWrite(&writer);
  if (HasFatalFailure()) return;
  // Stopped mid-write: readers see the old or the new whole string.
  units outage = GetAll(static_cast<uint32_t>(Capacity()));
  EXPECT_TRUE(OldOrNew(Describe(outage)))
      << "read neither the old nor the new whole string while the writer is stopped: "
      << Describe(outage);

  shim_child_kill(&writer, SIGKILL);
  EXPECT_EQ(shim_child_wait(&writer, 10000, nullptr, 0), 128 + SIGKILL);
  EXPECT_EQ(Describe(GetAll(static_cast<uint32_t>(Capacity()))), Describe(outage))
      << "the string changed or tore when the writer died";

  // Repair, seen through the fallback: a reader that skips the lock-free
  // tries takes the dead writer's lock, repairs, and reads under the lock.
  std::string fallback;
  EXPECT_EQ(RunRole(name_, "readcheck", {g_hooks_library}, 20000, &fallback,
                    {"DLLMEM_TEST_READ_TRIES=0"}),
            0);
  EXPECT_TRUE(OldOrNew(fallback)) << "the fallback read after the repair: " << fallback;
  // ... and through the lock-free path: the data area repair produced holds
  // the same whole string.
  EXPECT_EQ(Describe(GetAll(static_cast<uint32_t>(Capacity()))), fallback)
      << "the lock-free read of the repaired data area";

  // The next writer takes over the dead writer's lock at once and is read back.
  auto t0 = std::chrono::steady_clock::now();
  units third(Capacity(), 0);
  shim_msg_make(third.data(), 700, 3, 3);
  SetUnits(third);
  EXPECT_LT(ElapsedMs(t0), 2000) << "the next Set waited on a dead writer";
  EXPECT_EQ(GetAll(static_cast<uint32_t>(Capacity())), Prefix(third, 700));
}

// Any library: writers killed while this process reads: at random moments,
// and (where the segment's sequence word can be seen) aimed at the write
// window: frozen while seq is odd and killed there (the hook build's writers,
// when there is one, pause mid-write). After each kill the next Set must land
// and be read back, and at least one kill must have landed inside a write.
TEST_F(CrashSafety, WritersKilledAtRandomNeitherWedgeNorTear) {
  Load();
  units first(Capacity(), 0);
  shim_msg_make(first.data(), 300, 1000, 0);
  SetUnits(first);
  SeqPeek peek(name_, Capacity());
  std::mt19937 rng(42);
  std::string env = EnvName();
  const char *envp[] = {env.c_str(), nullptr};
  units buf(Capacity(), 0);
  ReadTally tally;
  int in_window = 0, lost_sets = 0;
  constexpr int kRounds = 30;
  for (int round = 0; round < kRounds; round++) {
    std::string id = std::to_string(round + 1);
    // Aimed rounds take the test-hook build when there is one, whose Sets
    // pause 2 ms halfway through the data area: under Wine a Set spends its
    // time in the writer mutex's server calls, and without the pause a
    // writer frozen at a random moment was never found with seq odd.
    bool aimed = peek.ok() && round % 2 == 1;
    bool paused = aimed && !g_hooks_library.empty();
    const char *args[] = {paused ? g_hooks_library.c_str() : g_library.c_str(),
                          "w",
                          id.c_str(),
                          "100000000",
                          "0",
                          "0",
                          "quiet",
                          nullptr};
    const char *paused_envp[] = {env.c_str(), "DLLMEM_TEST_PAUSE_MIDWRITE_MS=2", nullptr};
    shim_child w;
    ASSERT_TRUE(shim_spawn_role(&w, "worker", args, paused ? paused_envp : envp));
    char line[32];
    ASSERT_TRUE(shim_child_read_line(&w, 10000, line, sizeof line));
    auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(500 + rng() % 20000);
    while (std::chrono::steady_clock::now() < until) ReadChecked(lib_, buf, tally);
    if (aimed) {
      // Aimed: once a write is in progress (seq odd), freeze the writer; if
      // it froze mid-write, kill it there, else let it run on and try again.
      // (A kill alone lands too late under Wine: TerminateProcess is coarse.)
      auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      while (std::chrono::steady_clock::now() < give_up) {
        if ((peek.seq() & 1u) == 0) continue;
        bool frozen = shim_child_freeze(&w);
        if (frozen && (peek.seq() & 1u) != 0) break;
        shim_child_thaw(&w);
        if (!frozen) break;
      }
    }
    shim_child_kill(&w, SIGKILL);
    shim_child_wait(&w, 10000, nullptr, 0);
    if (peek.ok() && (peek.seq() & 1u) != 0) in_window++;  // died holding the lock mid-write
    for (int i = 0; i < 200; i++) ReadChecked(lib_, buf, tally);
    auto t0 = std::chrono::steady_clock::now();
    units mine(Capacity(), 0);
    shim_msg_make(mine.data(), 100, 999, static_cast<uint32_t>(round));
    SetUnits(mine);
    ASSERT_LT(ElapsedMs(t0), 2000) << "Set wedged after a writer was killed";
    if (GetAll(static_cast<uint32_t>(Capacity())) != Prefix(mine, 100)) lost_sets++;
  }
  EXPECT_EQ(tally.Bad(), 0) << tally.Describe();
  EXPECT_EQ(lost_sets, 0) << "of " << kRounds
                          << " Sets after a killed writer, these were not read back";
  if (peek.ok()) {
    EXPECT_GT(in_window, 0) << "no kill landed inside a write: no repair was exercised";
  }
  RecordProperty("kills_in_window", in_window);
}

}  // namespace
