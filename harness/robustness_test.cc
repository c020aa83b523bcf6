// Paths the other suites cannot reach on their own, driven through the
// library's test-hook build: readers forced onto the writer-lock fallback,
// lock waits that time out, and a child forked without exec.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <set>
#include <thread>

#include "fixture.h"

namespace {

using Extended = ExtendedTest;

// ---- the extended API's remaining corners (any extended build) --------------

TEST_F(Extended, EveryStatusHasItsOwnNameAndMessage) {
  Load();
  std::set<std::string> names, texts;
  for (int s = DLLMEM_OK; s <= DLLMEM_EMBEDDED_NUL; s++) {
    names.insert(lib_.x_status_name(static_cast<dllmem_status>(s)));
    texts.insert(lib_.x_strerror(static_cast<dllmem_status>(s)));
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(DLLMEM_EMBEDDED_NUL + 1));
  EXPECT_EQ(texts.size(), static_cast<size_t>(DLLMEM_EMBEDDED_NUL + 1));
  EXPECT_STREQ(lib_.x_status_name(DLLMEM_TRUNCATED), "DLLMEM_TRUNCATED");
  EXPECT_STREQ(lib_.x_status_name(static_cast<dllmem_status>(999)), "DLLMEM_UNKNOWN");
  EXPECT_NE(std::string(lib_.x_strerror(static_cast<dllmem_status>(999))), "");
}

TEST_F(Extended, TheRuntimeVersionMatchesTheHeader) {
  Load();
  EXPECT_EQ(lib_.x_version(), static_cast<unsigned>(DLLMEM_VERSION_HEX));
  EXPECT_STREQ(lib_.x_version_string(), DLLMEM_VERSION_STRING);
}

TEST_F(Extended, NullWithALengthIsInvalidAndAnEmptyStringIsStored) {
  Load();
  SetUnits(widen("before"));
  size_t stored = 7;
  EXPECT_EQ(lib_.x_set(nullptr, 5, &stored), DLLMEM_INVALID_ARGUMENT);
  EXPECT_EQ(GetAll(), text("before"));
  EXPECT_EQ(lib_.x_set(nullptr, 0, nullptr), DLLMEM_OK);
  EXPECT_TRUE(GetAll().empty());
  size_t full = 9;
  units one(1, 0xAAAA);
  EXPECT_EQ(lib_.x_get(one.data(), 1, nullptr), DLLMEM_OK);
  EXPECT_EQ(lib_.x_get(nullptr, 0, &full), DLLMEM_OK);
  EXPECT_EQ(full, 0u);
  EXPECT_EQ(lib_.x_get_info(nullptr), DLLMEM_INVALID_ARGUMENT);
}

TEST_F(Extended, EveryCallWhileDetachedSaysNotAttached) {
  Load("63");  // refused: not attached
  units s = widen("x"), buf(4, 0xAAAA);
  size_t n = 5;
  EXPECT_EQ(lib_.x_set(s.data(), 1, &n), DLLMEM_NOT_ATTACHED);
  EXPECT_EQ(n, 0u);
  EXPECT_EQ(lib_.x_get(buf.data(), buf.size(), &n), DLLMEM_NOT_ATTACHED);
  EXPECT_EQ(buf[0], 0);
  EXPECT_EQ(n, 0u);
  dllmem_info info;
  EXPECT_EQ(lib_.x_get_info(&info), DLLMEM_NOT_ATTACHED);
  lib_.set(s.data());
  EXPECT_EQ(lib_.x_last_status(), DLLMEM_NOT_ATTACHED);
}

// ---- the test-hook build ---------------------------------------------------------

// The attach-failure sweep (AttachFailure/FaultSweep) is in fault_sweep_test.cc,
// which every platform builds.

// Readers forced onto the writer-lock fallback still return whole strings.
using ReaderFallback = HookTest;

TEST_F(ReaderFallback, ReadsUnderTheWriterLockAreWholeAndConsistent) {
  SetHook("READ_TRIES", "0");
  Load("", g_hooks_library);
  SetUnits(widen("locked read"));
  EXPECT_EQ(GetAll(), text("locked read"));
  units first(Capacity(), 0);
  shim_msg_make(first.data(), 64, 2, 0);
  SetUnits(first);  // from here on every read must be a whole message
  std::atomic<bool> stop{false}, started{false};
  std::thread writer([&] {
    units msg(Capacity(), 0);
    for (uint32_t i = 0; !stop && i < 1000000; i++) {
      shim_msg_make(msg.data(), SHIM_MSG_HEADER + i % 1000, 1, i);
      lib_.set(msg.data());
      started = true;
    }
  });
  while (!started) std::this_thread::yield();
  units buf(Capacity(), 0);
  ReadTally tally;
  // At least 5000 reads, and on until one of them saw the writer's progress.
  for (long i = 0; (i < 5000 || tally.changes == 0) && i < 2000000; i++)
    ReadChecked(lib_, buf, tally);
  stop = true;
  writer.join();
  EXPECT_EQ(tally.Bad(), 0) << tally.Describe();
  EXPECT_GT(tally.changes, 0) << "the fallback reads never saw the writer: " << tally.Describe();
}

// A writer stopped inside its Set holds the lock: other writers give up after
// the wait bound with TIMEOUT, lock-free readers carry on, fallback readers
// time out with an empty string.
using LockTimeout = HookTest;

TEST_F(LockTimeout, AStoppedWriterMakesOthersTimeOutNotHang) {
  Load();
  units first(Capacity(), 0);
  shim_msg_make(first.data(), 500, 1, 1);
  SetUnits(first);
  shim_child writer;
  StartWriterStoppedMidWrite(&writer);
  if (HasFatalFailure()) return;
  Unload();

  SetHook("WAIT_MS", "200");
  Load("", g_hooks_library);
  auto t0 = std::chrono::steady_clock::now();
  units s = widen("blocked");
  size_t stored = 0;
  EXPECT_EQ(lib_.x_set(s.data(), s.size() - 1, &stored), DLLMEM_TIMEOUT);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  EXPECT_GE(ms, 150);
  EXPECT_LT(ms, 5000);
  units got = GetAll(static_cast<uint32_t>(Capacity()));
  EXPECT_TRUE(shim_msg_valid(got.data(), got.size())) << "lock-free read failed";
  Unload();

  SetHook("READ_TRIES", "0");
  Load("", g_hooks_library);
  units out(16, 0xAAAA);
  size_t full = 5;
  EXPECT_EQ(lib_.x_get(out.data(), out.size(), &full), DLLMEM_TIMEOUT);
  EXPECT_EQ(out[0], 0);
  EXPECT_EQ(full, 0u) << "a failed Get left a length the caller could believe";

  shim_child_kill(&writer, SIGKILL);  // before detaching, so this process is the last
  shim_child_wait(&writer, 10000, nullptr, 0);
  // The timed-out waits let go of everything: this process's next Set goes
  // through (the dead writer's lock is taken over) instead of blocking.
  units after = widen("after");
  size_t n = 0;
  EXPECT_EQ(lib_.x_set(after.data(), after.size() - 1, &n), DLLMEM_OK);
  EXPECT_EQ(n, after.size() - 1);
}

TEST_F(Extended, TheDefaultNameIsPrivateToTheUser) {
  unsetenv("DLLMEM_NAME");
  Load();
  dllmem_info info;
  ASSERT_EQ(lib_.x_get_info(&info), DLLMEM_OK);
  EXPECT_EQ(std::string(info.name), "dllmemfilemap-" + std::to_string(geteuid()));
  unsigned mode = 0;
  ASSERT_TRUE(shim_segment_stat(info.name, nullptr, &mode, nullptr));
  EXPECT_EQ(mode & 0777u, 0600u);
  Unload();
  EXPECT_FALSE(shim_segment_exists(info.name));
}

// An attacher that finds the segment locked by an initializer or remover for
// longer than the wait bound gives up with TIMEOUT instead of hanging.
TEST_F(LockTimeout, AnInitializerThatNeverFinishesMakesAttachTimeOut) {
  int fd = shm_open(ObjectName(name_).c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  ASSERT_GE(fd, 0);
  struct flock fl {};
  fl.l_type = F_WRLCK;  // byte 0 exclusive: "initializing"
  fl.l_whence = SEEK_SET;
  fl.l_len = 1;
  ASSERT_EQ(fcntl(fd, F_OFD_SETLK, &fl), 0);
  SetHook("WAIT_MS", "200");
  Load("", g_hooks_library);
  EXPECT_EQ(lib_.x_attach_status(), DLLMEM_TIMEOUT) << lib_.x_attach_reason();
  Unload();
  close(fd);
  shm_unlink(ObjectName(name_).c_str());
}

// An attacher that keeps finding a segment whose initializer died before
// sizing it (shared holders, size 0) retries a bounded number of times.
TEST_F(LockTimeout, AnObjectThatNeverGetsInitializedEndsTheAttachInTime) {
  int fd = shm_open(ObjectName(name_).c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  ASSERT_GE(fd, 0);
  struct flock fl {};
  fl.l_type = F_RDLCK;  // byte 0 shared: "attached", yet the object is empty
  fl.l_whence = SEEK_SET;
  fl.l_len = 1;
  ASSERT_EQ(fcntl(fd, F_OFD_SETLK, &fl), 0);
  auto t0 = std::chrono::steady_clock::now();
  Load("", g_hooks_library);
  EXPECT_EQ(lib_.x_attach_status(), DLLMEM_TIMEOUT) << lib_.x_attach_reason();
  EXPECT_LT(std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - t0)
                .count(),
            5);
  Unload();
  close(fd);
  shm_unlink(ObjectName(name_).c_str());
}

// ---- fork without exec (any build) ---------------------------------------------------

class Fork : public LibraryTest {
 protected:
  // The child reads the parent's string, counts two attaches (its own slot,
  // not a share of the parent's), and its Set reaches the parent.
  void ForkAChildThatUsesItsOwnAttach();
};

void Fork::ForkAChildThatUsesItsOwnAttach() {
  SetUnits(widen("from the parent"));
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    units buf(64, 0);
    lib_.get(buf.data(), 64);
    dllmem_info info;
    bool ok =
        shim_ulen(buf.data()) == 15 && lib_.x_get_info(&info) == DLLMEM_OK && info.attached == 2;
    units s = widen("from the child");
    lib_.set(s.data());
    ok = ok && lib_.x_last_status() == DLLMEM_OK;
    Unload();  // the child's own detach; also lets coverage tools write its profile
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(GetAll(), text("from the child"));
  dllmem_info info;
  ASSERT_EQ(lib_.x_get_info(&info), DLLMEM_OK);
  EXPECT_EQ(info.attached, 1) << "the child's attach outlived it";
  SetUnits(widen("parent again"));  // the child's exit left the writer lock free
  EXPECT_EQ(GetAll(), text("parent again"));
}

TEST_F(Fork, AForkedChildGetsAnAttachOfItsOwn) {
  Load();
  if (!HasExtendedApi()) GTEST_SKIP() << "needs dllmem_get_info";
  ForkAChildThatUsesItsOwnAttach();
}

// With stdin closed, the descriptor the child opens for its own attach is 0:
// a valid one.
TEST_F(Fork, AChildWhoseOwnDescriptorIsZeroStillGetsItsAttach) {
  Load();
  if (!HasExtendedApi()) GTEST_SKIP() << "needs dllmem_get_info";
  int saved = dup(0);
  ASSERT_GE(saved, 0);
  close(0);
  ForkAChildThatUsesItsOwnAttach();
  dup2(saved, 0);
  close(saved);
}

}  // namespace
