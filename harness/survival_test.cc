// The library survives what its callers' processes do around it: a writer
// that forked and then died inside Set, exit() while another thread is inside
// the exports, a newcomer reusing a dead writer's slot, a thread cancelled
// while it waits for the writer lock, and a system without OFD locks.
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#include "fixture.h"

namespace {

using Clock = std::chrono::steady_clock;

long MsSince(Clock::time_point t0) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count());
}

// True once pid is gone or a zombie (an orphan's zombie may wait for a reaper
// that never comes in a container; its files are closed all the same).
bool ProcessGone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z';
}

// Kills a process that is not our child and waits (bounded) until it is gone.
void KillOrphan(pid_t pid) {
  if (pid <= 0) return;
  kill(pid, SIGKILL);
  for (int i = 0; i < 500 && !ProcessGone(pid); i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

// Asks a forked worker to exit (SIGTERM: it exits normally, so coverage tools
// write its profile), then kills it if it has not gone within 2 s.
void EndWorker(pid_t pid) {
  if (pid <= 0) return;
  kill(pid, SIGTERM);
  for (int i = 0; i < 200 && !ProcessGone(pid); i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  KillOrphan(pid);
}

// True if some attach holds the object's lock byte `at` (the POSIX backend
// holds byte 1 + slot for every attach).
bool LockByteHeld(const std::string &name, off_t at) {
  int fd = shm_open(ObjectName(name).c_str(), O_RDWR, 0600);
  if (fd < 0) return false;
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = at;
  fl.l_len = 1;
  bool held = fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
  close(fd);
  return held;
}

// ---- a writer that forked, then died inside Set -----------------------------------

class ForkedWriter : public HookTest {
 protected:
  void TearDown() override {
    EndWorker(worker_);
    HookTest::TearDown();
  }
  // Starts the forked-writer role (`how`: "", "unlinked" or "replaced") and
  // reads the pid of the worker it forked and, unless `how` is "", the
  // worker's own line. The worker is ended at TearDown.
  void StartForkedWriter(const char *how, std::string *worker_line);
  // Once the writer has stopped inside its Set, kills it there.
  void KillTheWriterInsideItsSet();
  // After that death, a Set must not wait for the dead writer's lock, and
  // `attached` processes must remain.
  void ExpectNoWedge(int64_t attached, const char *who);
  void WorkerWithoutAnAttachOfItsOwn(const char *how);

  shim_child writer_{};
  pid_t worker_ = 0;
};

void ForkedWriter::StartForkedWriter(const char *how, std::string *worker_line) {
  std::string env1 = EnvName();
  const char *envp[] = {env1.c_str(), nullptr};
  const char *args[] = {g_hooks_library.c_str(), *how ? how : nullptr, nullptr};
  ASSERT_TRUE(shim_spawn_role(&writer_, "forked-writer", args, envp));
  for (int i = 0; i < (*how ? 2 : 1); i++) {  // the two processes' lines, in either order
    char line[512] = "";
    ASSERT_TRUE(shim_child_read_line(&writer_, 10000, line, sizeof line));
    if (sscanf(line, "forked %d", &worker_) != 1 && worker_line != nullptr) *worker_line = line;
  }
  ASSERT_GT(worker_, 0);
}

void ForkedWriter::KillTheWriterInsideItsSet() {
  ASSERT_TRUE(shim_child_wait_stopped(&writer_, 20000)) << "writer never reached the window";
  shim_child_kill(&writer_, SIGKILL);
  shim_child_wait(&writer_, 10000, nullptr, 0);
}

void ForkedWriter::ExpectNoWedge(int64_t attached, const char *who) {
  auto t0 = Clock::now();
  units s = widen("after");
  size_t stored = 0;
  EXPECT_EQ(lib_.x_set(s.data(), s.size() - 1, &stored), DLLMEM_OK)
      << "the dead writer's lock outlived it in its forked child (" << MsSince(t0) << " ms)";
  EXPECT_EQ(GetAll(), text("after"));
  dllmem_info info;
  ASSERT_EQ(lib_.x_get_info(&info), DLLMEM_OK);
  EXPECT_EQ(info.attached, attached) << who;
}

// The pre-fork server pattern: a process attaches, forks a worker that lives
// on without exec, and is killed inside a Set. The worker keeps its parent's
// mapping; the dead writer's locks must not live on in it.
TEST_F(ForkedWriter, DiesInsideSetWhileItsForkedChildLivesOnAndWedgesNoWriter) {
  SetHook("WAIT_MS", "3000");  // a wedge shows as TIMEOUT, not a hang
  Load("", g_hooks_library);
  SetUnits(widen("before"));
  ASSERT_NO_FATAL_FAILURE(StartForkedWriter("", nullptr));
  ASSERT_NO_FATAL_FAILURE(KillTheWriterInsideItsSet());
  units seen = GetAll();
  EXPECT_TRUE(seen == text("before") || seen == text("the dying writer's string"))
      << "a torn string after the writer died";
  ExpectNoWedge(2, "this process and the forked worker, not the dead writer");
  // The worker gone, its attach must be gone too before this process detaches
  // (else it would not be the last and would leave the name): bounded wait.
  EndWorker(worker_);
  dllmem_info info{};
  for (int i = 0; i < 500 && lib_.x_get_info(&info) == DLLMEM_OK && info.attached != 1; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(info.attached, 1) << "the ended worker's attach outlived it";
}

// A worker forked after the object's name was removed, or given to another
// object, cannot open its parent's object again, so it gets no attach of its
// own. It must then keep nothing of its parent's either (the mapping, the fd:
// each keeps the parent's locks alive), and say it is not attached.
void ForkedWriter::WorkerWithoutAnAttachOfItsOwn(const char *how) {
  std::string worker_line;
  ASSERT_NO_FATAL_FAILURE(StartForkedWriter(how, &worker_line));
  int status = -1, empty = -1;
  ASSERT_EQ(sscanf(worker_line.c_str(), "worker %d %d", &status, &empty), 2) << worker_line;
  EXPECT_EQ(status, static_cast<int>(DLLMEM_NOT_ATTACHED)) << worker_line;
  EXPECT_NE(worker_line.find("no attach of its own"), std::string::npos)
      << "the attach reason must say why: " << worker_line;
  EXPECT_EQ(empty, 1) << "a Get in the worker must yield an empty string";
  ASSERT_NO_FATAL_FAILURE(KillTheWriterInsideItsSet());
  ExpectNoWedge(1, "this process only: the worker has no attach, the writer died");
}

// Detach forgets where the segment was before it unmaps it: a thread that
// forks in between must not find the range in its child and map the segment
// again there, over whatever may have taken the range since.
TEST_F(ForkedWriter, AForkDuringDetachLeavesTheChildWithoutTheSegment) {
  SetHook("PAUSE_STEP", "detach-unmapped");  // 300 ms right after the unmap
  Load("", g_hooks_library);
  SetUnits(widen("still here"));
  const std::string mapped = "/dev/shm" + ObjectName(name_);  // as /proc/PID/maps names it
  std::atomic<int> child_exit{-1};
  std::thread forker([&mapped, &child_exit] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // detach is paused by now
    pid_t pid = fork();
    if (pid == 0) {  // the fork handlers have run: is the segment mapped here?
      std::ifstream maps("/proc/self/maps");
      std::string line;
      bool found = false;
      while (std::getline(maps, line)) found = found || line.find(mapped) != std::string::npos;
      _exit(found ? 1 : 0);
    }
    int status = 0;
    if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status))
      child_exit = WEXITSTATUS(status);
  });
  Unload();
  forker.join();
  EXPECT_EQ(child_exit.load(), 0)
      << "1: the child forked during detach has the segment mapped again";
}

TEST_F(ForkedWriter, AChildWithoutAnAttachOfItsOwnKeepsNoneOfItsParents) {
  SetHook("WAIT_MS", "3000");  // a wedge shows as TIMEOUT, not a hang
  Load("", g_hooks_library);
  SetUnits(widen("before"));
  WorkerWithoutAnAttachOfItsOwn("unlinked");
}

TEST_F(ForkedWriter, AChildWhoseNameNowNamesAnotherObjectKeepsNoneOfItsParents) {
  SetHook("WAIT_MS", "3000");
  Load("", g_hooks_library);
  SetUnits(widen("before"));
  WorkerWithoutAnAttachOfItsOwn("replaced");
  shm_unlink(ObjectName(name_).c_str());  // the role's stand-in object
}

// ---- exit() while another thread is inside the exports -------------------------

// ASAN_OPTIONS as this process has them, plus `extra`. (LeakSanitizer's
// exit-time scan cannot stop a thread that is still running.)
std::string AsanOptions(const char *extra) {
  const char *now = getenv("ASAN_OPTIONS");
  return std::string("ASAN_OPTIONS=") + (now && *now ? std::string(now) + ":" : "") + extra;
}

using BusyExit = LibraryTest;

// A thread loops Set/Get while main() calls exit(0): the process must exit
// cleanly with its stdio flushed, and the last one out still removes the
// segment.
TEST_F(BusyExit, ExitWhileAThreadIsInsideSetOrGetIsClean) {
  int crashed = 0, unflushed = 0;
  const int runs = 20;
  for (int i = 0; i < runs; i++) {
    std::string out;
    int rc = RunRole(name_, "exit-busy", {g_library, std::to_string(i % 8)}, 20000, &out,
                     {"DLLMEM_SIZE=262144", AsanOptions("detect_leaks=0")});
    if (rc != 0) crashed++;
    if (out.find("exiting") == std::string::npos) unflushed++;
  }
  EXPECT_EQ(crashed, 0) << crashed << " of " << runs << " processes died at exit";
  EXPECT_EQ(unflushed, 0) << unflushed << " of " << runs << " lost their buffered output";
}

// The same with the thread held inside Set (mid-write, 100 ms) when exit()
// runs the library's destructor: it must leave the segment mapped for the
// thread, and the kernel's exit cleans up.
TEST_F(BusyExit, ExitWhileAThreadSleepsInsideSetIsClean) {
  if (g_hooks_library.empty()) GTEST_SKIP() << "needs the library's test-hook build";
  std::string out;
  int rc = RunRole(name_, "exit-busy", {g_hooks_library, "7", "held"}, 20000, &out,
                   {"DLLMEM_TEST_PAUSE_MIDWRITE_MS=100", AsanOptions("detect_leaks=0")});
  EXPECT_EQ(rc, 0) << "the process died at exit";
  EXPECT_NE(out.find("exiting"), std::string::npos) << "its buffered output was lost";
  EXPECT_NE(out.find("exiting mid-write"), std::string::npos)
      << "inconclusive: no Set was held in its write window when exit() ran (the pause "
         "hook did not hold the thread there)";
  expect_no_segment_ = false;  // left to the next attacher, as after a crash
}

// The thread is inside Set for 10 ms at a time when exit() runs the
// destructor: detach waits for it (up to 50 ms), so the last process out
// still removes the segment instead of leaving it to the kernel.
TEST_F(BusyExit, ExitWhileAThreadIsBrieflyInsideSetStillRemovesTheSegment) {
  if (g_hooks_library.empty()) GTEST_SKIP() << "needs the library's test-hook build";
  std::string out;
  int rc = RunRole(name_, "exit-busy", {g_hooks_library, "7"}, 20000, &out,
                   {"DLLMEM_TEST_PAUSE_MIDWRITE_MS=10", AsanOptions("detect_leaks=0")});
  EXPECT_EQ(rc, 0) << "the process died at exit";
  EXPECT_FALSE(shim_segment_exists(name_.c_str()))
      << "detach gave up on a thread inside Set for 10 ms and left the segment";
}

// ---- a newcomer reusing a dead writer's slot ---------------------------------------

using SlotReuse = HookTest;

// A writer dies inside Set; a new process takes its slot (by chance, or here
// by DLLMEM_TEST_SLOT) and idles. The slot is held again, but not by the
// writer: later Sets must not wait for it.
TEST_F(SlotReuse, ANewcomerOnADeadWritersSlotDoesNotMakeWritersWait) {
  SetHook("WAIT_MS", "3000");
  Load("", g_hooks_library);
  SetUnits(widen("before"));
  std::string env1 = EnvName(), slot = "DLLMEM_TEST_SLOT=4242",
              stop = "DLLMEM_TEST_STOP_MIDWRITE=1";
  const char *wenv[] = {env1.c_str(), slot.c_str(), stop.c_str(), nullptr};
  const char *wargs[] = {g_hooks_library.c_str(), "w", "2", "1", "0", "0", "quiet", nullptr};
  shim_child writer, holder;
  ASSERT_TRUE(shim_spawn_role(&writer, "worker", wargs, wenv));
  ASSERT_TRUE(shim_child_wait_stopped(&writer, 20000)) << "writer never reached the window";
  shim_child_kill(&writer, SIGKILL);
  shim_child_wait(&writer, 10000, nullptr, 0);

  StartHolder(&holder, g_hooks_library, slot);
  if (HasFatalFailure()) return;
  ASSERT_TRUE(LockByteHeld(name_, 1 + 4242)) << "inconclusive: the newcomer is not on slot 4242";

  auto t0 = Clock::now();
  units s = widen("after");
  size_t stored = 0;
  EXPECT_EQ(lib_.x_set(s.data(), s.size() - 1, &stored), DLLMEM_OK)
      << "a Set waited " << MsSince(t0) << " ms for the newcomer on the dead writer's slot";
  EXPECT_EQ(GetAll(), text("after"));
  StopHolder(&holder);
}

// After a Set the lock word is free, whoever holds the other slots: a Set
// must not find it naming a live process (here one on slot 1) and wait.
TEST_F(SlotReuse, ASetLeavesTheLockWordFreeForTheNext) {
  SetHook("WAIT_MS", "3000");
  SetHook("SLOT", "2");  // this process; the holder asks for slot 1
  Load("", g_hooks_library);
  shim_child holder;
  StartHolder(&holder, g_hooks_library, "DLLMEM_TEST_SLOT=1");
  if (HasFatalFailure()) return;
  ASSERT_TRUE(LockByteHeld(name_, 1 + 1)) << "inconclusive: the holder is not on slot 1";
  for (const char *t : {"first", "second", "third"}) {
    units s = widen(t);
    size_t stored = 0;
    EXPECT_EQ(lib_.x_set(s.data(), s.size() - 1, &stored), DLLMEM_OK) << t;
    EXPECT_EQ(GetAll(), text(t));
  }
  StopHolder(&holder);
}

// Two processes whose slot search starts at the same slot (pids hash alike,
// here DLLMEM_TEST_SLOT) both attach: the second takes the next free one.
TEST_F(SlotReuse, TwoProcessesStartingAtTheSameSlotBothAttach) {
  SetHook("SLOT", "5");  // this process and the holder alike
  shim_child holder;
  StartHolder(&holder, g_hooks_library);
  if (HasFatalFailure()) return;
  ASSERT_TRUE(LockByteHeld(name_, 1 + 5)) << "inconclusive: the holder is not on slot 5";
  Load("", g_hooks_library);
  ASSERT_EQ(lib_.x_attach_status(), DLLMEM_OK) << lib_.x_attach_reason();
  dllmem_info info;
  ASSERT_EQ(lib_.x_get_info(&info), DLLMEM_OK);
  EXPECT_EQ(info.attached, 2);
  SetUnits(widen("both"));
  EXPECT_EQ(GetAll(), text("both"));
  StopHolder(&holder);
}

// ---- cancellation ---------------------------------------------------------------------

using Cancellation = HookTest;

// A thread waiting for the writer lock (held by a stopped writer) is
// cancelled. Afterwards Sets, fallback reads and fork() must still work in
// that process: they time out on the stopped writer instead of hanging.
TEST_F(Cancellation, AThreadCancelledWhileWaitingForTheWriterLockLeavesNothingLocked) {
  Load();
  SetUnits(widen("before"));
  shim_child writer;
  StartWriterStoppedMidWrite(&writer);
  if (HasFatalFailure()) return;
  std::string out;
  int rc = RunRole(name_, "cancel-waiter", {g_hooks_library}, 15000, &out,
                   {"DLLMEM_TEST_WAIT_MS=400", "DLLMEM_TEST_READ_TRIES=0"});
  EXPECT_EQ(rc, 0) << out << (rc == -1 ? "(hung: killed after 15 s)" : "");
  EXPECT_NE(out.find("set=DLLMEM_TIMEOUT get=DLLMEM_TIMEOUT fork=ok"), std::string::npos) << out;
  shim_child_kill(&writer, SIGKILL);
  shim_child_wait(&writer, 10000, nullptr, 0);
  SetUnits(widen("after"));
  EXPECT_EQ(GetAll(), text("after"));
}

// ---- no OFD locks ---------------------------------------------------------------------

using OfdLocks = HookTest;

// Classic fcntl locks belong to the process: any close() or dup2() of the
// object in it (a forked child's included) drops them all. Without OFD locks
// the library refuses to attach and says why.
TEST_F(OfdLocks, WithoutThemAttachIsRefusedWithAReason) {
  SetHook("NO_OFD", "1");
  Load("", g_hooks_library);
  EXPECT_EQ(lib_.x_attach_status(), DLLMEM_OS_ERROR);
  EXPECT_NE(std::string(lib_.x_attach_reason()).find("open-file-description locks"),
            std::string::npos)
      << lib_.x_attach_reason();
  units out(8, 0xAAAA);
  lib_.get(out.data(), 8);
  EXPECT_EQ(out[0], 0);
  EXPECT_FALSE(shim_segment_exists(name_.c_str()));
}

// ---- roles ------------------------------------------------------------------------------

bool LoadOrSay(shim_lib *lib, const char *path) {
  char err[512];
  if (shim_lib_load(lib, path, err, sizeof err)) return true;
  fprintf(stderr, "role: %s\n", err);
  return false;
}

// forked-writer LIB [unlinked|replaced]: attaches, forks a worker that lives
// on (up to 30 s) without exec, prints "forked PID", then stores with the
// mid-write stop on. "unlinked" first removes the object's name, "replaced"
// also gives it to a new empty object, so that the worker cannot open its
// parent's object again; the worker prints "worker STATUS EMPTY REASON": its
// attach status, 1 if its Get yields "", and its attach reason.
volatile sig_atomic_t g_worker_ending = 0;

int RoleForkedWriter(int argc, char **argv) {
  shim_lib lib;
  if (argc < 1 || !LoadOrSay(&lib, argv[0])) return 10;
  bool replaced = argc > 1 && strcmp(argv[1], "replaced") == 0;
  bool unlinked = replaced || (argc > 1 && strcmp(argv[1], "unlinked") == 0);
  char object[512];
  const char *name = getenv("DLLMEM_NAME");
  if (unlinked && (name == nullptr || !shim_object_name(object, sizeof object, name, "") ||
                   shm_unlink(object) != 0))
    return 13;
  if (replaced) {  // an empty stand-in of the same name, as another program might make
    int fd = shm_open(object, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0) return 14;
    close(fd);
  }
  pid_t worker = fork();
  if (worker < 0) return 11;
  if (worker == 0) {
    if (unlinked) {
      units buf(16, 'x');
      lib.get(buf.data(), 16);
      printf("worker %d %d %s\n", static_cast<int>(lib.x_attach_status()), buf[0] == 0 ? 1 : 0,
             lib.x_attach_reason());
      fflush(stdout);
    }
    int null_fd = open("/dev/null", O_WRONLY);
    if (null_fd >= 0) dup2(null_fd, 1);  // the test's pipe must not wait for us
    signal(SIGTERM, [](int) { g_worker_ending = 1; });
    for (int i = 0; i < 300 && g_worker_ending == 0; i++) usleep(100000);
    exit(0);  // normally: coverage tools write the worker's profile (its Get, its fork handler)
  }
  printf("forked %d\n", static_cast<int>(worker));
  fflush(stdout);
  setenv("DLLMEM_TEST_STOP_MIDWRITE", "1", 1);
  units msg = widen("the dying writer's string");
  lib.set(msg.data());  // stops inside; the test kills us there
  return 12;
}

void *SetGetForever(void *arg) {
  shim_lib *lib = static_cast<shim_lib *>(arg);
  size_t cap = shim_lib_capacity(lib);
  units msg(cap, 0), buf(cap, 0);
  shim_msg_make(msg.data(), cap - 1, 7, 1);  // long copies: the thread is nearly always inside
  for (;;) {
    lib->set(msg.data());
    lib->get(buf.data(), static_cast<uint32_t>(cap));
  }
  return nullptr;
}

// exit-busy LIB DELAY [held]: a thread loops Set/Get of whole-capacity
// strings; after DELAY (0..7) x 200 us main() prints "exiting" and calls
// exit(0). With "held" it first waits (up to 5 s) until one Set is held in
// its write window (the pause hook): the sequence word odd and still the same
// 20 ms later, which a Set passing through never is; then it says "exiting
// mid-write".
// exit() flushes stdio streams after the library's destructor has run; a
// stream into a pipe whose reader starts 300 ms late holds the process there,
// so a thread still inside the exports gets to touch a segment the destructor
// might have unmapped (else exit_group usually wins that race and hides it).
int RoleExitBusy(int argc, char **argv) {
  static shim_lib lib;  // outlives main(): the thread keeps using it
  if (argc < 2 || !LoadOrSay(&lib, argv[0])) return 10;
  pthread_t t;
  if (pthread_create(&t, nullptr, SetGetForever, &lib) != 0) return 11;
  usleep(static_cast<useconds_t>(200 * atoi(argv[1]) + 100));
  FILE *late = popen("sleep 0.3; cat >/dev/null", "w");
  static char big[1 << 20];
  if (late == nullptr || setvbuf(late, big, _IOFBF, sizeof big) != 0) return 12;
  for (int i = 0; i < 512; i++) fprintf(late, "%01023d\n", i);  // more than a pipe holds
  shim_peer peer{};
  const char *name = getenv("DLLMEM_NAME");
  bool mid = false;
  if (argc > 2 && strcmp(argv[2], "held") == 0 && name != nullptr &&
      shim_peer_open(&peer, name, shim_lib_capacity(&lib))) {
    for (int i = 0; i < 250 && !mid; i++) {
      uint32_t s = shim_peer_seq(&peer);
      usleep(20000);
      mid = (s & 1u) != 0 && shim_peer_seq(&peer) == s;
    }
  }
  shim_peer_close(&peer);
  printf("exiting%s\n", mid ? " mid-write" : "");
  exit(0);
}

struct CancelArgs {
  shim_lib *lib;
  std::atomic<bool> started{false};
};

void *SetAndBeCancelled(void *arg) {
  CancelArgs *a = static_cast<CancelArgs *>(arg);
  units s = widen("cancelled");
  a->started = true;
  size_t stored;
  a->lib->x_set(s.data(), s.size() - 1, &stored);  // waits for the stopped writer
  return nullptr;
}

// cancel-waiter LIB: a thread waiting for the writer lock is cancelled; then
// this process's own Set, a read (DLLMEM_TEST_READ_TRIES=0 sends every read
// to the writer-lock fallback) and fork() must each return
// (DLLMEM_TEST_WAIT_MS bounds the waits). Prints what they returned.
int RoleCancelWaiter(int argc, char **argv) {
  shim_lib lib;
  if (argc < 1 || !LoadOrSay(&lib, argv[0]) || !shim_lib_is_extended(&lib)) return 10;
  CancelArgs a;
  a.lib = &lib;
  pthread_t t;
  if (pthread_create(&t, nullptr, SetAndBeCancelled, &a) != 0) return 11;
  while (!a.started) usleep(1000);
  usleep(150000);  // inside the wait (its bound is 400 ms)
  pthread_cancel(t);
  pthread_join(t, nullptr);
  units s = widen("main");
  size_t n = 0;
  dllmem_status set = lib.x_set(s.data(), s.size() - 1, &n);
  units buf(16, 0xAAAA);
  dllmem_status get = lib.x_get(buf.data(), buf.size(), &n);
  pid_t kid = fork();
  if (kid == 0) _exit(0);
  int status = 0;
  bool forked = kid > 0 && waitpid(kid, &status, 0) == kid && WIFEXITED(status);
  printf("set=%s get=%s fork=%s\n", lib.x_status_name(set), lib.x_status_name(get),
         forked ? "ok" : "failed");
  shim_lib_unload(&lib);
  return 0;
}

}  // namespace

// This file's child roles, for the harness's table (roles.cc).
int role_forked_writer(int argc, char **argv) { return RoleForkedWriter(argc, argv); }
int role_exit_busy(int argc, char **argv) { return RoleExitBusy(argc, argv); }
int role_cancel_waiter(int argc, char **argv) { return RoleCancelWaiter(argc, argv); }
