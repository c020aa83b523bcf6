// Tearing: readers racing writers, threads and processes, every read checked
// with self-checking messages. Each test stores a message before any reader
// starts, so from then on a read is valid only if it is one whole message: an
// empty read is a lost value and a buffer left as poisoned, a Get that did not
// write. Readers must also see new values: a run that never overlapped a
// write proves nothing.
#include "fixture.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <thread>

namespace {

using Tearing = LibraryTest;

// A reader worker's "D <tally> <ns>" line (shim.h) as a ReadTally. The test
// stored a message before any reader started, so an empty read is a lost
// value whether or not the worker could tell (initial_empty).
bool ParseWorkerDone(const char *out, ReadTally *t) {
  const char *d = strncmp(out, "D ", 2) == 0 ? out : strstr(out, "\nD ");
  if (d == nullptr) return false;
  if (*d == '\n') d++;
  long overlapped = 0, lost = 0, initial_empty = 0;
  if (sscanf(d, "D %ld %ld %ld %ld %ld %ld %ld %ld", &t->reads, &t->messages, &t->torn, &lost,
             &t->untouched, &overlapped, &t->changes, &initial_empty) != 8)
    return false;
  t->empty = lost + initial_empty;
  return true;
}

TEST_F(Tearing, ThreadsNeverSeeATornString) {
  Load();
  units first(Capacity(), 0);
  shim_msg_make(first.data(), 200, 100, 0);
  SetUnits(first);
  constexpr int kWriters = 2, kReaders = 2;
  constexpr long kReadsPerReader = 20000;
  // Evidence, not a count, ends a reader: past its 20,000 reads it goes on
  // until it has seen 6 new values (so together more than 10), or for 10 s.
  // On a loaded machine the writers may hardly run during the first reads.
  constexpr long kChangesPerReader = 6;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; w++) {
    threads.emplace_back([&, w] {
      std::mt19937 rng(static_cast<unsigned>(w) + 1);
      units msg(Capacity(), 0);
      for (uint32_t seq = 0; !stop.load(std::memory_order_relaxed) && seq < 2000000; seq++) {
        size_t len = SHIM_MSG_HEADER + rng() % (Capacity() - SHIM_MSG_HEADER);
        shim_msg_make(msg.data(), len, static_cast<uint32_t>(w), seq);
        lib_.set(msg.data());
      }
    });
  }
  std::vector<ReadTally> tallies(kReaders);
  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; r++) {
    readers.emplace_back([&, r] {
      units buf(Capacity(), 0);
      for (long i = 0; i < kReadsPerReader || (tallies[r].changes < kChangesPerReader &&
                                               std::chrono::steady_clock::now() < deadline);
           i++)
        ReadChecked(lib_, buf, tallies[r]);
    });
  }
  for (auto &t : readers) t.join();
  stop = true;
  for (auto &t : threads) t.join();
  ReadTally all;
  for (auto &t : tallies) all.Merge(t);
  EXPECT_GE(all.reads, kReaders * kReadsPerReader);
  EXPECT_EQ(all.Bad(), 0) << all.Describe();
  EXPECT_GT(all.changes, 10) << "the readers hardly overlapped the writers: " << all.Describe();
  RecordProperty("reads", static_cast<int>(all.reads));
  RecordProperty("changes", static_cast<int>(all.changes));
}

TEST_F(Tearing, ProcessesNeverSeeATornString) {
  Load();  // keeps the segment alive between children
  units first(Capacity(), 0);
  shim_msg_make(first.data(), 200, 100, 0);
  SetUnits(first);
  constexpr int kWriters = 3, kReaders = 3;
  const long kReads = 40000;
  std::vector<shim_child> writers(kWriters), readers(kReaders);
  std::string env = EnvName();
  const char *envp[] = {env.c_str(), nullptr};
  for (int w = 0; w < kWriters; w++) {
    std::string id = std::to_string(w + 1);
    const char *args[] = {g_library.c_str(), "w",    id.c_str(), "1000000000", "0", "0",
                          "quiet",           nullptr};
    ASSERT_TRUE(shim_spawn_role(&writers[w], "worker", args, envp));
    char line[64];
    ASSERT_TRUE(shim_child_read_line(&writers[w], 10000, line, sizeof line));  // "A <ns>"
  }
  std::string count = std::to_string(kReads);
  for (int r = 0; r < kReaders; r++) {
    std::string id = std::to_string(100 + r);
    const char *args[] = {g_library.c_str(), "r",    id.c_str(), count.c_str(), "0", "0",
                          "quiet",           nullptr};
    ASSERT_TRUE(shim_spawn_role(&readers[r], "worker", args, envp));
  }
  ReadTally all;
  for (auto &c : readers) {
    char out[4096];
    int rc = shim_child_wait(&c, 120000, out, sizeof out);
    ReadTally t;
    if (ParseWorkerDone(out, &t))
      all.Merge(t);
    else
      ADD_FAILURE() << "a reader gave no tally: rc=" << rc << " output: " << out;
  }
  for (auto &c : writers) {
    shim_child_kill(&c, SIGKILL);
    shim_child_wait(&c, 10000, nullptr, 0);
  }
  EXPECT_EQ(all.reads, kReaders * kReads);
  EXPECT_EQ(all.Bad(), 0) << all.Describe();
  EXPECT_GT(all.changes, 10) << "the readers hardly overlapped the writers: " << all.Describe();
  RecordProperty("reads", static_cast<int>(all.reads));
  RecordProperty("changes", static_cast<int>(all.changes));
}

// No Set vanishes: every Set that returned is counted by the segment's
// sequence, however many writers contend for the lock. Threads share one
// process's lock; processes contend for the segment's.
using TearingAccounting = ExtendedTest;

uint64_t Sequence(const shim_lib &lib) {
  dllmem_info info;
  EXPECT_EQ(lib.x_get_info(&info), DLLMEM_OK);
  return info.sequence;
}

TEST_F(TearingAccounting, EverySetFromConcurrentThreadsAndProcessesLands) {
  Load();
  constexpr int kThreads = 4, kProcesses = 4;
  constexpr long kSets = 3000;  // per thread
  uint64_t before = Sequence(lib_);
  std::vector<std::thread> threads;
  for (int w = 0; w < kThreads; w++) {
    threads.emplace_back([&, w] {
      units msg(Capacity(), 0);
      for (long i = 0; i < kSets; i++) {
        shim_msg_make(msg.data(), SHIM_MSG_HEADER + static_cast<size_t>(i) % 500,
                      static_cast<uint32_t>(w), static_cast<uint32_t>(i));
        lib_.set(msg.data());
      }
    });
  }
  for (auto &t : threads) t.join();
  uint64_t after_threads = Sequence(lib_);
  EXPECT_EQ(after_threads - before, static_cast<uint64_t>(kThreads * kSets))
      << "Sets from threads of one process were dropped";

  // Processes writing at the same time for 400 ms each, so their Sets contend.
  std::string env = EnvName();
  const char *envp[] = {env.c_str(), nullptr};
  std::vector<shim_child> writers(kProcesses);
  for (int w = 0; w < kProcesses; w++) {
    std::string id = std::to_string(w + 10);
    const char *args[] = {g_library.c_str(), id.c_str(), "400", nullptr};
    ASSERT_TRUE(shim_spawn_role(&writers[w], "setfor", args, envp));
  }
  long returned = 0;
  for (auto &c : writers) {
    char out[64] = "";
    long n = 0;
    EXPECT_EQ(shim_child_wait(&c, 120000, out, sizeof out), 0);
    EXPECT_EQ(sscanf(out, "sets=%ld", &n), 1) << out;
    returned += n;
  }
  uint64_t landed = Sequence(lib_) - after_threads;
  EXPECT_EQ(landed, static_cast<uint64_t>(returned))
      << (returned - static_cast<long>(landed)) << " of " << returned
      << " Sets from contending processes returned but never reached the segment";
  units got = GetAll(static_cast<uint32_t>(Capacity()));
  EXPECT_TRUE(shim_msg_valid(got.data(), got.size())) << "the last value is not a whole message";
}

}  // namespace
