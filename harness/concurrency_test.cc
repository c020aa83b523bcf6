// Tearing: readers racing writers, threads and processes, every read checked
// with self-checking messages. A read is valid only if it is the empty string
// or one whole message.
#include "fixture.h"

#include <atomic>
#include <random>
#include <thread>

namespace {

using Tearing = LibraryTest;

TEST_F(Tearing, ThreadsNeverSeeATornString) {
  Load();
  constexpr int kWriters = 2, kReaders = 2;
  constexpr long kReadsPerReader = 20000;
  std::atomic<bool> stop{false};
  std::atomic<long> torn{0}, reads{0};
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
  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; r++) {
    readers.emplace_back([&] {
      units buf(Capacity(), 0);
      for (long i = 0; i < kReadsPerReader; i++) {
        lib_.get(buf.data(), static_cast<uint32_t>(Capacity()));
        if (!shim_msg_valid(buf.data(), shim_ulen(buf.data()))) torn++;
        reads++;
      }
    });
  }
  for (auto &t : readers) t.join();
  stop = true;
  for (auto &t : threads) t.join();
  EXPECT_EQ(reads.load(), kReaders * kReadsPerReader);
  EXPECT_EQ(torn.load(), 0) << "torn reads out of " << reads.load();
  RecordProperty("reads", static_cast<int>(reads.load()));
}

TEST_F(Tearing, ProcessesNeverSeeATornString) {
  Load();  // keeps the segment alive between children
  constexpr int kWriters = 3, kReaders = 3;
  const long kReads = 40000;
  std::vector<shim_child> writers(kWriters), readers(kReaders);
  std::string env = EnvName();
  const char *envp[] = {env.c_str(), nullptr};
  for (int w = 0; w < kWriters; w++) {
    std::string id = std::to_string(w + 1);
    const char *args[] = {g_library.c_str(), id.c_str(), "1000000000", nullptr};
    ASSERT_TRUE(shim_spawn_role(&writers[w], "writer", args, envp));
    char line[64];
    ASSERT_TRUE(shim_child_read_line(&writers[w], 10000, line, sizeof line));
  }
  std::string count = std::to_string(kReads);
  for (int r = 0; r < kReaders; r++) {
    const char *args[] = {g_library.c_str(), count.c_str(), nullptr};
    ASSERT_TRUE(shim_spawn_role(&readers[r], "reader", args, envp));
  }
  long total = 0, torn = 0;
  for (auto &c : readers) {
    char out[256];
    int rc = shim_child_wait(&c, 120000, out, sizeof out);
    long reads = 0, t = 0;
    ASSERT_EQ(sscanf(out, "reads=%ld torn=%ld", &reads, &t), 2) << "reader died: rc=" << rc;
    total += reads;
    torn += t;
  }
  for (auto &c : writers) {
    shim_child_kill(&c, SIGKILL);
    shim_child_wait(&c, 10000, nullptr, 0);
  }
  EXPECT_EQ(total, kReaders * kReads);
  EXPECT_EQ(torn, 0) << "torn reads out of " << total;
  RecordProperty("reads", static_cast<int>(total));
}

}  // namespace
