// Attach failures, on every platform: the test-hook build fails one system
// call of attach (DLLMEM_TEST_FAIL=call@N, the Nth call since attach) for every
// call in the backend's table and every N attach can reach, in every scene
// attach can meet. Each attach either works, or fails cleanly: the reason
// names the call, the exports stay safe (a Set stores nothing, a Get yields
// ""), a process already attached is not disturbed, and nothing is left
// behind. Every call must be on the path: its first call failing fails attach.
#include "fixture.h"

#include <csignal>
#include <ostream>
#include <utility>

#if defined(_WIN32)
#include <windows.h>
#endif

namespace {

// Where the attach meets the segment: created fresh, left abandoned by a
// crashed process (the reset path; POSIX only: on Windows a dead process's
// objects go with its handles, so that is the fresh scene), or held by a
// live one (the join path).
enum class Scene { kFresh, kAbandoned, kHeld };

// The backend's table (DLLMEM_TEST_FAIL names), how many times one attach
// makes each call at most, and the scene in which its first call is surely on
// the path.
struct Call {
  const char *name;
  int max_nth;
  Scene first_reached;
};

#if defined(_WIN32)
const Call kCalls[] = {
    {"OpenProcessToken", 3, Scene::kFresh},
    {"GetTokenInformation", 3, Scene::kFresh},
    {"ConvertStringSecurityDescriptorToSecurityDescriptorW", 1, Scene::kFresh},
    {"CreateMutexW", 2, Scene::kFresh},
    {"WaitForSingleObject", 1, Scene::kFresh},
    {"CreateFileMappingW", 1, Scene::kFresh},
    {"GetSecurityInfo", 3, Scene::kHeld},  // only objects someone else made are checked
    {"MapViewOfFile", 1, Scene::kFresh},
    {"VirtualQuery", 1, Scene::kFresh},
};
const Scene kScenes[] = {Scene::kFresh, Scene::kHeld};
#else
const Call kCalls[] = {
    {"shm_open", 1, Scene::kFresh}, {"fstat", 2, Scene::kFresh}, {"ftruncate", 3, Scene::kFresh},
    {"mmap", 3, Scene::kFresh},     {"fcntl", 6, Scene::kFresh},
};
const Scene kScenes[] = {Scene::kFresh, Scene::kAbandoned, Scene::kHeld};
#endif

struct FaultCase {
  const char *call;
  int nth;
  Scene scene;
  bool must_fail;  // the call's first call, in a scene that surely makes it
};

void PrintTo(const FaultCase &f, std::ostream *os) {
  const char *scene[] = {"fresh", "abandoned", "held"};
  *os << f.call << "@" << f.nth << " (" << scene[static_cast<int>(f.scene)] << ")";
}

// Every object attach may create is gone (Windows: the kernel keeps one only
// while a handle is open, so one left here is a handle this process leaked).
bool NothingLeft(const std::string &name) {
#if defined(_WIN32)
  for (const char *suffix : {"", ".dllmem-lock", ".dllmem-attach"}) {
    std::wstring wide;
    for (char c : ObjectName(name, suffix)) wide.push_back(static_cast<wchar_t>(c));
    HANDLE h = OpenMutexW(SYNCHRONIZE, FALSE, wide.c_str());
    if (h == nullptr) h = OpenFileMappingW(FILE_MAP_READ, FALSE, wide.c_str());
    if (h != nullptr) {
      CloseHandle(h);
      return false;
    }
  }
  return true;
#else
  return !shim_segment_exists(name.c_str());
#endif
}

class FaultSweep : public HookTest, public ::testing::WithParamInterface<FaultCase> {
 protected:
  // Starts a child holding the segment (and storing text), waits until ready.
  void Hold(shim_child *c, const char *text_to_store) {
    std::string env = EnvName();
    const char *envp[] = {env.c_str(), nullptr};
    const char *args[] = {g_library.c_str(), text_to_store, nullptr};
    ASSERT_TRUE(shim_spawn_role(c, "hold", args, envp));
    char line[32];
    ASSERT_TRUE(shim_child_read_line(c, 10000, line, sizeof line));
  }
};

TEST_P(FaultSweep, AttachEitherWorksOrFailsCleanly) {
  const FaultCase f = GetParam();
  shim_child holder{};
  if (f.scene != Scene::kFresh) {
    Hold(&holder, "held");
    if (HasFatalFailure()) return;
  }
  if (f.scene == Scene::kAbandoned) {
    shim_child_kill(&holder, SIGKILL);  // nobody detaches: an abandoned segment
    shim_child_wait(&holder, 10000, nullptr, 0);
  }
  std::string spec = std::string(f.call) + "@" + std::to_string(f.nth);
  InjectFault(f.call, f.nth);
  Load("", g_hooks_library);
  ClearFaults();
  dllmem_status st = lib_.x_attach_status();
  std::string why = lib_.x_attach_reason();
  RecordProperty("attach", std::string(lib_.x_status_name(st)) + ": " + why);
  if (f.must_fail) {
    EXPECT_NE(st, DLLMEM_OK) << spec << ": the call is on the attach path, yet attach worked";
  }
  if (st == DLLMEM_OK) {
#if !defined(_WIN32)
    // An attach that worked holds its slot: the kernel counts it (and the
    // holder, if any); one without its slot would count as nobody.
    dllmem_info info;
    ASSERT_EQ(lib_.x_get_info(&info), DLLMEM_OK);
    EXPECT_EQ(info.attached, f.scene == Scene::kHeld ? 2 : 1)
        << spec << ": attached without a slot";
#endif
    SetUnits(widen("after"));  // the injected call was not on the path, or retried
    EXPECT_EQ(GetAll(), text("after"));
  } else {
    EXPECT_NE(why.find(f.call), std::string::npos) << spec << ": " << why;
#if !defined(_WIN32)
    // "CALL[(what)] on "NAME" failed: ...": the call first, then the segment.
    const size_t on = why.find(" on \"" + name_ + "\" failed: ");
    EXPECT_NE(on, std::string::npos) << spec << ": the reason does not name the segment: " << why;
    if (on != std::string::npos) {
      EXPECT_EQ(why.rfind(f.call, on), 0u)
          << spec << ": the reason does not start with the call: " << why;
    }
#endif
    units s = widen("ignored"), out(8, 0xAAAA);
    lib_.set(s.data());
    lib_.get(out.data(), 8);
    EXPECT_EQ(out[0], 0) << spec << ": Get after a failed attach";
    size_t stored = 9;
    EXPECT_EQ(lib_.x_set(s.data(), s.size() - 1, &stored), DLLMEM_NOT_ATTACHED);
    EXPECT_EQ(stored, 0u);
  }
  Unload();
  if (f.scene == Scene::kHeld) {
    std::string out;
    EXPECT_EQ(RunRole(name_, "get", {g_library}, 10000, &out), 0);
    if (st != DLLMEM_OK) {
      EXPECT_EQ(out, "held\n") << spec << ": a failed attach disturbed the holder";
    }
    shim_child_kill(&holder, SIGTERM);
    shim_child_wait(&holder, 10000, nullptr, 0);
  }
#if defined(_WIN32)
  // Every process is gone or detached: any object still there is a handle
  // this process leaked, on a failure path or in detach.
  EXPECT_TRUE(NothingLeft(name_)) << spec << ": an object of \"" << name_ << "\" outlived attach";
#else
  if (f.scene == Scene::kFresh && st != DLLMEM_OK) {
    EXPECT_TRUE(NothingLeft(name_)) << spec << ": a failed attach left its object";
  }
  shim_segment_remove(name_.c_str());  // an abandoned scene whose attach failed keeps it
#endif
  expect_no_segment_ = false;
}

std::vector<FaultCase> AllFaults() {
  std::vector<FaultCase> v;
  for (Scene s : kScenes)
    for (const Call &c : kCalls)
      for (int n = 1; n <= c.max_nth; n++)
        v.push_back({c.name, n, s, n == 1 && s == c.first_reached});
  return v;
}

std::string FaultName(const ::testing::TestParamInfo<FaultCase> &i) {
  const char *scene[] = {"fresh", "abandoned", "held"};
  return std::string(scene[static_cast<int>(i.param.scene)]) + "_" + i.param.call + "_" +
         std::to_string(i.param.nth);
}

INSTANTIATE_TEST_SUITE_P(AttachFailure, FaultSweep, ::testing::ValuesIn(AllFaults()), FaultName);

}  // namespace
