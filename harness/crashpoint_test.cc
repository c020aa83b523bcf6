// Crash-point sweeps: a process is killed at *every* numbered point instead
// of at random, one point per round. The test-hook build stops itself
// (SIGSTOP) where its environment says: DLLMEM_TEST_STOP_AT=K at the K-th
// store of the protocol to shared memory (a Set's, a repair's),
// DLLMEM_TEST_STOP_STEP=K or NAME[,NAME] at a step of attach or detach.
// After a kill inside a Set or a repair:
//  - during the outage, the old or the new string, whole;
//  - after the kill, the same; after repair (a reader that goes straight to
//    the writer-lock fallback repairs), the same again through the fallback
//    and through the lock-free path, before any new Set;
//  - the next Set lands within 1 s and is read back.
// After a kill inside attach or detach, the processes attaching meanwhile
// attach, start from the empty string, never see what a dead session left
// (its string, its mode), and the segment goes away with the last of them.
// A sweep fails if it reached fewer points than the build has, saw no point
// inside a write, a kill inside a write was not followed by a repair, or no
// attacher ever had to wait for the killed one.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ostream>
#include <string>
#include <thread>

#include "fixture.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kMaxPoints = 400;  // bound on any sweep; every config has far fewer

long MsSince(Clock::time_point t0) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count());
}

// n characters cycling through `alphabet`: old, new and later strings use
// disjoint alphabets, so any mix of two of them is neither.
std::string Text(size_t n, const char *alphabet) {
  std::string s;
  size_t m = strlen(alphabet);
  for (size_t i = 0; i < n; i++) s += alphabet[i % m];
  return s;
}
const char *const kUpper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const char *const kLower = "abcdefghijklmnopqrstuvwxyz";
const char *const kDigits = "0123456789";
const char *const kPunct = "!#$%&()*+,-./:;<=>?@[]^_{|}~";

// What a child did by the deadline, without reaping it.
enum class Fate { kStopped, kExited, kRunning };

Fate WaitStopOrExit(shim_child *c, int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  do {
    siginfo_t si{};
    if (waitid(P_PID, static_cast<id_t>(c->pid), &si, WEXITED | WSTOPPED | WNOHANG | WNOWAIT) ==
            0 &&
        si.si_pid == c->pid)
      return si.si_code == CLD_STOPPED ? Fate::kStopped : Fate::kExited;
    std::this_thread::sleep_for(std::chrono::microseconds(300));
  } while (Clock::now() < deadline);
  return Fate::kRunning;
}

// Kills and reaps a child; true if SIGKILL is what ended it.
bool KillChild(shim_child *c) {
  shim_child_kill(c, SIGKILL);
  return shim_child_wait(c, 10000, nullptr, 0) == 128 + SIGKILL;
}

std::string Quote(const std::string &s) {
  if (s.size() <= 24) return "\"" + s + "\" (" + std::to_string(s.size()) + ")";
  return "\"" + s.substr(0, 12) + "..." + s.substr(s.size() - 8) + "\" (" +
         std::to_string(s.size()) + ")";
}

// Where a read that is neither string parts from the one it follows longer.
std::string Torn(const std::string &got, const std::string &a, const std::string &b) {
  auto common = [&](const std::string &w) {
    size_t i = 0;
    while (i < got.size() && i < w.size() && got[i] == w[i]) i++;
    return i;
  };
  size_t ca = common(a), cb = common(b);
  size_t i = ca >= cb ? ca : cb;
  std::string at = i < got.size() ? "'" + std::string(1, got[i]) + "'" : "its end";
  return "; it follows the " + std::string(ca >= cb ? "first" : "second") + " for " +
         std::to_string(i) + " units, then reads " + at;
}

class CrashPoint : public LibraryTest {
 protected:
  void SetUp() override {
    LibraryTest::SetUp();
    if (g_hooks_library.empty()) GTEST_SKIP() << "needs the library's test-hook build";
  }

  // The stored string through this process's lock-free Get, as ASCII.
  std::string Read() {
    units u = GetAll(static_cast<uint32_t>(Capacity() + 16));
    std::string s;
    for (dllmem_unit c : u) s += c < 128 ? static_cast<char>(c) : '?';
    return s;
  }

  void Store(const std::string &s) {
    units u = widen(s.c_str());
    lib_.set(u.data());
  }

  // A read by a fresh process whose reads all take the writer-lock fallback
  // (which repairs first), without its trailing newline; "(exit N)" if it failed.
  std::string FallbackRead() {
    std::string out;
    int rc = RunRole(name_, "get", {g_hooks_library}, 20000, &out, {"DLLMEM_TEST_READ_TRIES=0"});
    if (rc != 0) return "(fallback reader exit " + std::to_string(rc) + ")";
    if (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  // After a process was killed at a point: the string stays `seen` through
  // the kill, the fallback's repair and the lock-free read after it; a kill
  // inside a write (seq odd) is repaired by that fallback read; the next Set
  // lands within 1 s. Returns "" or what went wrong. Counts repairs.
  std::string AfterTheKill(SeqPeek &peek, const std::string &seen, uint32_t seq_stopped,
                           const std::string &next, long *repairs) {
    std::string after = Read();
    if (after != seen) return "after the kill read " + Quote(after) + ", before it " + Quote(seen);
    std::string fallback = FallbackRead();
    if (fallback != seen) return "the fallback read " + Quote(fallback) + ", not " + Quote(seen);
    uint32_t seq = peek.seq();
    if ((seq_stopped & 1u) != 0) {
      if (seq != seq_stopped + 1u)
        return "killed inside a write (seq " + std::to_string(seq_stopped) +
               "), the fallback read left seq " + std::to_string(seq) + ": no repair";
      ++*repairs;
    } else if (seq != seq_stopped) {
      return "seq moved from " + std::to_string(seq_stopped) + " to " + std::to_string(seq) +
             " with no writer alive";
    }
    std::string lockfree = Read();
    if (lockfree != seen)
      return "the lock-free read after the repair " + Quote(lockfree) + ", not " + Quote(seen);
    auto t0 = Clock::now();
    Store(next);
    long ms = MsSince(t0);
    if (ms >= 1000) return "the next Set took " + std::to_string(ms) + " ms";
    std::string back = Read();
    if (back != next) return "the next Set was not read back: " + Quote(back);
    return "";
  }

  struct Tally {
    int points = 0, odd_points = 0;
    long repairs = 0;
  };

  // One round of a Set sweep: a fresh segment holding `old` (nothing if
  // empty); if first_new is set, a writer storing it is stopped halfway
  // through D (seq odd) and killed first, so the swept writer's Set begins
  // with a repair. The swept writer stores `fresh` and stops at store point
  // k. *done: its Set completed without reaching k (the sweep is over).
  std::string StoreRound(const std::string &size, const std::string &old,
                         const std::string *first_new, const std::string &fresh, bool reader, int k,
                         bool *done, Tally *t) {
    *done = false;
    Load(size);
    if (!Loaded()) return "cannot load the library";
    if (!old.empty()) Store(old);
    SeqPeek peek(name_, Capacity());
    if (!peek.ok()) return "not a dllmem segment: cannot watch its sequence word";
    std::string valid1 = old, valid2 = fresh;
    if (first_new != nullptr) {
      shim_child a;
      const char *args[] = {g_hooks_library.c_str(), first_new->c_str(), nullptr};
      const char *env[] = {"DLLMEM_TEST_STOP_MIDWRITE=1", nullptr};
      if (!shim_spawn_role(&a, "set", args, env)) return "cannot spawn the first writer";
      if (WaitStopOrExit(&a, 20000) != Fate::kStopped) {
        KillChild(&a);
        return "the first writer never stopped inside its Set";
      }
      if ((peek.seq() & 1u) == 0) return "the first writer stopped outside its write window";
      if (!KillChild(&a)) return "the first writer did not die by SIGKILL";
      valid1 = *first_new;  // readers have seen it (from S): there is no going back
    }
    // The swept process: a writer storing `fresh`, or a reader that goes
    // straight to the fallback and so repairs the first writer's Set.
    if (reader) valid2 = valid1;
    shim_child w;
    std::string stop = "DLLMEM_TEST_STOP_AT=" + std::to_string(k);
    const char *args[] = {g_hooks_library.c_str(), reader ? nullptr : fresh.c_str(), nullptr};
    const char *env[] = {stop.c_str(), reader ? "DLLMEM_TEST_READ_TRIES=0" : nullptr, nullptr};
    if (!shim_spawn_role(&w, reader ? "get" : "set", args, env)) return "cannot spawn the writer";
    Fate fate = WaitStopOrExit(&w, 20000);
    if (fate != Fate::kStopped) {
      char out[256] = "";
      int rc = shim_child_wait(&w, 5000, out, sizeof out);
      if (fate == Fate::kRunning || rc != 0)
        return "the swept process neither stopped nor finished (exit " + std::to_string(rc) + ")";
      *done = true;
      std::string got = Read();
      if (got != valid2) return "the swept process's whole work was not read back: " + Quote(got);
      if (reader && std::string(out) != valid2 + "\n")
        return "the repairing reader read " + Quote(out);
      Unload();
      return "";
    }
    t->points++;
    uint32_t seq_stopped = peek.seq();
    if ((seq_stopped & 1u) != 0) t->odd_points++;
    std::string seen = Read();
    if (seen != valid1 && seen != valid2)
      return "while the swept process was stopped (seq " + std::to_string(seq_stopped) + ") read " +
             Quote(seen) + ", neither " + Quote(valid1) + " nor " + Quote(valid2) +
             Torn(seen, valid1, valid2);
    if (!KillChild(&w)) return "the swept process did not die by SIGKILL";
    std::string err =
        AfterTheKill(peek, seen, seq_stopped, Text(fresh.size() / 2 + 3, kPunct), &t->repairs);
    if (!err.empty()) return err;
    Unload();
    if (shim_segment_exists(name_.c_str()))
      return "the segment outlived its last process";  // the dead writer must not pin it
    return "";
  }

  // Sweeps every store point; returns the tally.
  void SweepStores(const std::string &size, const std::string &old, const std::string *first_new,
                   const std::string &fresh, bool reader, int min_points, Tally *t) {
    bool done = false;
    int k = 1;
    for (; k <= kMaxPoints && !done; k++) {
      std::string err = StoreRound(size, old, first_new, fresh, reader, k, &done, t);
      if (Loaded()) Unload();
      if (!err.empty()) {  // one failure, not a leftover child and a leak too
        shim_reap_all();
        shim_segment_remove(name_.c_str());
      }
      ASSERT_EQ(err, "") << "killed at store point " << k << " of "
                         << (reader ? "a repairing read"
                                    : "a Set of " + std::to_string(fresh.size()) + " units")
                         << " (DLLMEM_SIZE " << size << ")";
    }
    ASSERT_TRUE(done) << "the Set still had store points after " << kMaxPoints;
    EXPECT_GE(t->points, min_points) << "the sweep reached fewer store points than a Set has: "
                                        "is DLLMEM_TEST_STOP_AT wired to every store?";
    EXPECT_GT(t->odd_points, 0) << "no point inside the write window (seq odd) was reached";
    EXPECT_GT(t->points, t->odd_points) << "no point outside the write window was reached";
    EXPECT_EQ(t->repairs, t->odd_points) << "every kill inside a write must be repaired";
    std::string what = reader ? "a fallback read repairing a dead writer's Set"
                              : "a Set of " + std::to_string(fresh.size()) + " units" +
                                    (first_new ? " after a dead writer" : "");
    printf(
        "crash-point sweep: DLLMEM_SIZE %s, %s: %d store points reached, %d inside the write "
        "window, %ld repairs observed\n",
        size.c_str(), what.c_str(), t->points, t->odd_points, t->repairs);
    RecordProperty("points", t->points);
    RecordProperty("repairs", static_cast<int>(t->repairs));
  }
};

// ---- the writer ------------------------------------------------------------------

struct StoreCase {
  const char *name;
  unsigned bytes;       // DLLMEM_SIZE
  size_t old_len, len;  // the string before, the string the killed Set stores
  int min_points;       // S, len_s, seq odd, D, len_d, seq even at least
};
void PrintTo(const StoreCase &c, std::ostream *os) { *os << c.name; }

class CrashPointStores : public CrashPoint, public ::testing::WithParamInterface<StoreCase> {};

TEST_P(CrashPointStores, AWriterKilledAtEveryStorePointOfASet) {
  const StoreCase c = GetParam();
  Tally t;
  SweepStores(std::to_string(c.bytes), Text(c.old_len, kUpper), nullptr, Text(c.len, kLower), false,
              c.min_points, &t);
}

// Capacity 64 (whole words and a partial last word), 67 (three trailing
// units stored one by one), a first Set over the initial empty string, and a
// Set of the empty string.
INSTANTIATE_TEST_SUITE_P(Sweep, CrashPointStores,
                         ::testing::Values(StoreCase{"cap64_len50", 128, 40, 50, 6},
                                           StoreCase{"cap67_len66", 134, 20, 66, 6},
                                           StoreCase{"cap64_first_set", 128, 0, 45, 6},
                                           StoreCase{"cap64_empty_string", 128, 40, 0, 6}),
                         [](const ::testing::TestParamInfo<StoreCase> &i) {
                           return std::string(i.param.name);
                         });

// The writer after a dead one: its Set starts by repairing (finishing the dead
// writer's copy), and it is killed at every store point of the repair and of
// its own Set. Readers have seen the dead writer's string: from then on only
// it or the new one is valid, never the string before it.
TEST_F(CrashPoint, ARepairingWriterKilledAtEveryStorePoint) {
  Tally t;
  std::string dead = Text(50, kLower);
  SweepStores("128", Text(40, kUpper), &dead, Text(30, kDigits), false, 8, &t);
}

// The reader that repairs: one that goes straight to the writer-lock fallback
// finishes a dead writer's Set, and is killed at every store point of that
// repair. Repair must survive its own death: the dead writer's string stays
// whole, and the next fallback read finishes the job.
TEST_F(CrashPoint, ARepairingReaderKilledAtEveryStorePoint) {
  Tally t;
  std::string dead = Text(50, kLower);
  SweepStores("128", Text(40, kUpper), &dead, "", true, 3, &t);
}

// ---- attach and detach ---------------------------------------------------------------

// How the object looks before the swept initializer attaches.
enum class Before { kNothing, kAbandoned0600, kAbandoned0644 };

struct InitCase {
  const char *name;
  Before before;
  int joiners;    // processes attaching while the initializer is stopped
  int min_steps;  // the steps of attach and detach this path has in the test build
};
void PrintTo(const InitCase &c, std::ostream *os) { *os << c.name; }

// True if the object's bytes hold `ascii` as UTF-16 anywhere: what a dead
// session stored must be gone once its object is reset, for the drop-in
// reader of offset 0 and for anyone mapping the object.
bool ObjectHolds(const std::string &name, const std::string &ascii) {
  uint64_t size = 0;
  auto *p = static_cast<const unsigned char *>(shim_segment_map(name.c_str(), &size));
  if (p == nullptr) return false;
  std::string needle;
  for (char ch : ascii) needle += std::string{ch, '\0'};
  bool found = std::search(p, p + size, needle.begin(), needle.end()) != p + size;
  shim_segment_unmap(const_cast<unsigned char *>(p), size);
  return found;
}

const char *const kDeadString = "left by the dead";

class CrashPointInit : public CrashPoint, public ::testing::WithParamInterface<InitCase> {
 protected:
  // A segment holding a string whose every process died without detaching,
  // left with `mode`.
  std::string Abandon(unsigned mode) {
    shim_child holder;
    const char *args[] = {g_library.c_str(), kDeadString, nullptr};
    if (!shim_spawn_role(&holder, "hold", args, nullptr)) return "cannot spawn the holder";
    char line[32];
    if (!shim_child_read_line(&holder, 10000, line, sizeof line))
      return "the holder never got ready";
    if (!KillChild(&holder)) return "the holder did not die by SIGKILL";
    int fd = shm_open(ObjectName(name_).c_str(), O_RDWR, 0);
    if (fd < 0) return "the abandoned object is not there";
    bool ok = fchmod(fd, mode) == 0;
    close(fd);
    return ok ? "" : "cannot chmod the abandoned object";
  }

  // One round: the initializer stops at step k and is killed while joiners
  // attach. A joiner stops where it finds the object locked ("busy") and is
  // let go after the kill; two also stop once they hold their share
  // ("shared"), so neither is alone when they go on. Each must then attach,
  // read the empty string (or the other joiner's), and store; this process
  // joins them.
  std::string InitRound(const InitCase &c, int k, bool *done, int *joiners_waited) {
    *done = false;
    if (c.before != Before::kNothing) {
      std::string err = Abandon(c.before == Before::kAbandoned0644 ? 0644 : 0600);
      if (!err.empty()) return err;
    }
    shim_child a;
    std::string stop = "DLLMEM_TEST_STOP_STEP=" + std::to_string(k);
    const char *aargs[] = {g_hooks_library.c_str(), nullptr};
    const char *aenv[] = {stop.c_str(), nullptr};
    if (!shim_spawn_role(&a, "get", aargs, aenv)) return "cannot spawn the initializer";
    Fate fate = WaitStopOrExit(&a, 20000);
    if (fate != Fate::kStopped) {
      char out[256] = "";
      int rc = shim_child_wait(&a, 5000, out, sizeof out);
      if (fate == Fate::kRunning || rc != 0)
        return "the initializer neither stopped nor finished (exit " + std::to_string(rc) + ")";
      *done = true;
      if (std::string(out) != "\n")
        return std::string("the first attacher did not see the empty string: ") + out;
      return shim_segment_exists(name_.c_str()) ? "the segment outlived its only process" : "";
    }
    const int n = c.joiners;
    shim_child b[2];
    std::string texts[2] = {"joined-b", "joined-c"};
    const char *benv[] = {
        n == 1 ? "DLLMEM_TEST_STOP_STEP=busy" : "DLLMEM_TEST_STOP_STEP=busy,shared", nullptr};
    for (int i = 0; i < n; i++) {
      const char *bargs[] = {g_hooks_library.c_str(), texts[i].c_str(), nullptr};
      if (!shim_spawn_role(&b[i], "crashpoint-hold", bargs, benv)) return "cannot spawn a joiner";
    }
    char line[2][256] = {"", ""};
    bool said[2] = {false, false}, stopped[2] = {false, false};
    // Each joiner stops at its next step, or (no one held the object) attaches
    // and says so.
    auto step_or_line = [&](int i) -> std::string {
      Fate bf = Fate::kRunning;
      for (auto t0 = Clock::now(); MsSince(t0) < 20000 && !said[i] && bf == Fate::kRunning;) {
        bf = WaitStopOrExit(&b[i], 20);
        if (bf == Fate::kRunning)
          said[i] = shim_child_read_line(&b[i], 20, line[i], sizeof line[i]);
      }
      if (bf == Fate::kExited) return "a joiner exited";
      stopped[i] = bf == Fate::kStopped;
      if (!said[i] && !stopped[i]) return "a joiner neither stopped nor attached";
      return "";
    };
    for (int i = 0; i < n; i++) {
      std::string err = step_or_line(i);
      if (!err.empty()) return err + " while the initializer was stopped";
    }
    if (!KillChild(&a)) return "the initializer did not die by SIGKILL";
    for (int i = 0; i < n; i++) {
      if (!stopped[i]) continue;
      ++*joiners_waited;
      shim_child_kill(&b[i], SIGCONT);
    }
    if (n == 2) {
      // Both hold their share (step "shared") before either goes on: neither
      // is alone, so each must tell a live segment from what the dead left.
      for (int i = 0; i < n; i++) {
        if (!stopped[i]) continue;
        std::string err = step_or_line(i);
        if (!err.empty()) return err + " after the initializer died";
      }
      for (int i = 0; i < n; i++)
        if (stopped[i]) shim_child_kill(&b[i], SIGCONT);
    }
    for (int i = 0; i < n; i++) {
      if (stopped[i] && !shim_child_read_line(&b[i], 20000, line[i], sizeof line[i]))
        return "a joiner never attached after the initializer died";
      std::string l = line[i], other = n == 2 ? texts[1 - i] : "";
      if (l != "attach=DLLMEM_OK read= set=DLLMEM_OK" &&
          (other.empty() || l != "attach=DLLMEM_OK read=" + other + " set=DLLMEM_OK"))
        return "a joiner after the initializer died: " + l +
               " (want attach=DLLMEM_OK read= set=DLLMEM_OK)";
    }
    Load();
    if (!Loaded()) return "cannot load the library";
    if (HasExtendedApi() && lib_.x_attach_status() != DLLMEM_OK)
      return std::string("this process could not attach: ") + lib_.x_attach_reason();
    std::string got = Read();
    if (got != texts[0] && (n == 1 || got != texts[1]))
      return "this process and the joiners see different strings: " + Quote(got);
    uint64_t size = 0;
    unsigned mode = 0, uid = 0;
    if (!shim_segment_stat(name_.c_str(), &size, &mode, &uid) || (mode & 0777) != 0600)
      return "the segment's mode is 0" + std::to_string(mode & 0777) + ", not 0600";
    // The joiners' Sets overwrote its first units; its end must be gone too.
    if (ObjectHolds(name_, "dead"))
      return "the dead session's string is still in the object's bytes";
    Store("after");
    if (Read() != "after") return "a Set after the recovery was not read back";
    for (int i = 0; i < n; i++) {
      shim_child_kill(&b[i], SIGTERM);
      if (shim_child_wait(&b[i], 10000, nullptr, 0) != 0) return "a joiner did not detach cleanly";
    }
    Unload();
    if (shim_segment_exists(name_.c_str())) return "the segment outlived its last process";
    return "";
  }
};

TEST_P(CrashPointInit, AnInitializerKilledAtEveryStepOfAttach) {
  const InitCase c = GetParam();
  bool done = false;
  int steps = 0, waited = 0;
  for (int k = 1; k <= kMaxPoints && !done; k++) {
    std::string err = InitRound(c, k, &done, &waited);
    shim_reap_all();
    if (Loaded()) Unload();
    if (!err.empty()) shim_segment_remove(name_.c_str());  // one failure, not a leak too
    ASSERT_EQ(err, "") << "initializer killed at step " << k << " of attach and detach";
    if (!done) steps++;
  }
  ASSERT_TRUE(done) << "attach still had steps after " << kMaxPoints;
  EXPECT_GE(steps, c.min_steps) << "the sweep reached fewer steps than attach and detach have: "
                                   "is DLLMEM_TEST_STOP_STEP wired to every step?";
  EXPECT_GT(waited, 0) << "no joiner ever had to wait for the initializer";
  printf(
      "crash-point sweep: attach over %s, %d joiner(s): %d steps reached, joiners waited %d "
      "times\n",
      c.name, c.joiners, steps, waited);
  RecordProperty("points", steps);
}

// Steps: opened, locked, [inspected, emptied,] [mode-set,] sized, mapped,
// initialized, downgraded, slot, then the initializer's own detach:
// detach-unmapped, detach-alone, detach-unlinked.
INSTANTIATE_TEST_SUITE_P(
    Sweep, CrashPointInit,
    ::testing::Values(InitCase{"nothing", Before::kNothing, 1, 10},
                      InitCase{"abandoned_0600", Before::kAbandoned0600, 1, 12},
                      InitCase{"abandoned_0644", Before::kAbandoned0644, 1, 13},
                      InitCase{"nothing_2", Before::kNothing, 2, 10},
                      InitCase{"abandoned_0600_2", Before::kAbandoned0600, 2, 12},
                      InitCase{"abandoned_0644_2", Before::kAbandoned0644, 2, 13}),
    [](const ::testing::TestParamInfo<InitCase> &i) { return std::string(i.param.name); });

// The last process killed at each step of its detach: whatever it left, the
// next attacher starts with the empty string, and its segment goes away.
TEST_F(CrashPoint, TheLastProcessKilledAtEveryStepOfDetach) {
  int reached = 0;
  for (const char *step : {"detach-unmapped", "detach-alone", "detach-unlinked"}) {
    shim_child h;
    std::string stop = std::string("DLLMEM_TEST_STOP_STEP=") + step;
    const char *args[] = {g_hooks_library.c_str(), "left behind", nullptr};
    const char *env[] = {stop.c_str(), nullptr};
    ASSERT_TRUE(shim_spawn_role(&h, "crashpoint-hold", args, env));
    char line[256];
    ASSERT_TRUE(shim_child_read_line(&h, 10000, line, sizeof line));
    ASSERT_STREQ(line, "attach=DLLMEM_OK read= set=DLLMEM_OK");
    shim_child_kill(&h, SIGTERM);  // detaches, and stops at the step
    ASSERT_EQ(WaitStopOrExit(&h, 10000), Fate::kStopped) << "detach never reached " << step;
    reached++;
    ASSERT_TRUE(KillChild(&h));
    Load();
    ASSERT_TRUE(Loaded());
    EXPECT_EQ(Read(), "") << "killed at " << step << ": the dead process's string survived";
    EXPECT_FALSE(ObjectHolds(name_, "left behind"))
        << "killed at " << step << ": the dead process's string is still in the object's bytes";
    Store("next");
    EXPECT_EQ(Read(), "next") << "killed at " << step;
    Unload();
    EXPECT_FALSE(shim_segment_exists(name_.c_str())) << "killed at " << step;
  }
  EXPECT_EQ(reached, 3);
  RecordProperty("points", reached);
}

// The last process stopped at each step of its detach while another
// attaches (stopped where it finds the object locked), then let go: the
// detach finishes first, and the attacher must not end up alone on the
// object it unlinked, but on the one everyone else finds by name.
TEST_F(CrashPoint, AnAttachRacingTheLastDetachAtEveryStepEndsOnTheNamedObject) {
  int reached = 0, waited = 0;
  for (const char *step : {"detach-unmapped", "detach-alone", "detach-unlinked"}) {
    shim_child a, b;
    std::string stop = std::string("DLLMEM_TEST_STOP_STEP=") + step;
    const char *aargs[] = {g_hooks_library.c_str(), "leaving", nullptr};
    const char *aenv[] = {stop.c_str(), nullptr};
    ASSERT_TRUE(shim_spawn_role(&a, "crashpoint-hold", aargs, aenv));
    char line[256];
    ASSERT_TRUE(shim_child_read_line(&a, 10000, line, sizeof line));
    shim_child_kill(&a, SIGTERM);
    ASSERT_EQ(WaitStopOrExit(&a, 10000), Fate::kStopped) << "detach never reached " << step;
    reached++;
    const char *bargs[] = {g_hooks_library.c_str(), "joined", nullptr};
    const char *benv[] = {"DLLMEM_TEST_STOP_STEP=busy", nullptr};
    ASSERT_TRUE(shim_spawn_role(&b, "crashpoint-hold", bargs, benv));
    bool said = false;
    Fate bf = Fate::kRunning;
    for (auto t0 = Clock::now(); MsSince(t0) < 20000 && !said && bf == Fate::kRunning;) {
      bf = WaitStopOrExit(&b, 20);
      if (bf == Fate::kRunning) said = shim_child_read_line(&b, 20, line, sizeof line);
    }
    ASSERT_TRUE(said || bf == Fate::kStopped) << "the attacher neither stopped nor attached";
    shim_child_kill(&a, SIGCONT);  // the detach finishes
    EXPECT_EQ(shim_child_wait(&a, 10000, nullptr, 0), 0) << "the detacher at " << step;
    if (bf == Fate::kStopped) {
      waited++;
      shim_child_kill(&b, SIGCONT);
      ASSERT_TRUE(shim_child_read_line(&b, 20000, line, sizeof line)) << "at " << step;
    }
    EXPECT_STREQ(line, "attach=DLLMEM_OK read= set=DLLMEM_OK") << "the attacher at " << step;
    Load();
    ASSERT_TRUE(Loaded());
    EXPECT_EQ(Read(), "joined") << "detach stopped at " << step
                                << ": the attacher ended on another object than the named one";
    shim_child_kill(&b, SIGTERM);
    EXPECT_EQ(shim_child_wait(&b, 10000, nullptr, 0), 0);
    Unload();
    EXPECT_FALSE(shim_segment_exists(name_.c_str())) << "at " << step;
    if (HasFatalFailure() || HasNonfatalFailure()) break;
  }
  EXPECT_EQ(reached, 3);
  EXPECT_GT(waited, 0) << "the attacher never had to wait for the detacher";
  RecordProperty("points", reached);
}

}  // namespace

// crashpoint-hold LIB TEXT: attaches, reads, stores TEXT, prints
// "attach=STATUS read=STRING set=STATUS", then holds until SIGTERM (at most
// 60 s) and detaches.
namespace {
volatile sig_atomic_t g_term;
void OnTerm(int) { g_term = 1; }
}  // namespace

int role_crashpoint_hold(int argc, char **argv) {
  signal(SIGTERM, OnTerm);
  if (argc < 2) return 10;
  shim_lib lib;
  char err[512];
  if (!shim_lib_load(&lib, argv[0], err, sizeof err)) {
    fprintf(stderr, "role: %s\n", err);
    return 10;
  }
  if (!shim_lib_is_extended(&lib)) return 11;
  units buf(64, SHIM_POISON);
  lib.get(buf.data(), static_cast<uint32_t>(buf.size()));
  std::string read;
  for (size_t i = 0; i < buf.size() && buf[i] != 0; i++)
    read += buf[i] < 128 ? static_cast<char>(buf[i]) : '?';
  std::string attach = lib.x_status_name(lib.x_attach_status());
  units u = widen(argv[1]);
  lib.set(u.data());
  printf("attach=%s read=%s set=%s\n", attach.c_str(), read.c_str(),
         lib.x_status_name(lib.x_last_status()));
  fflush(stdout);
  for (int i = 0; i < 6000 && !g_term; i++) usleep(10000);
  shim_lib_unload(&lib);
  return 0;
}
