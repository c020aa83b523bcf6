// Windows only: the mapping and its mutexes carry an owner-only DACL and an
// explicit owner; an existing object someone else owns, or that grants anyone
// else access, or whose security cannot be read, is refused; and DllMain's
// wait under the loader lock is bounded.
#include <windows.h>

#include <aclapi.h>
#include <sddl.h>

#include <chrono>
#include <string>
#include <thread>

#include "fixture.h"

namespace {

using WindowsSecurity = ExtendedTest;

std::wstring Wide(const std::string &s) {
  std::wstring w(s.size(), L'\0');
  for (size_t i = 0; i < s.size(); i++) w[i] = static_cast<wchar_t>(s[i]);
  return w;
}

PSID TokenUserSid(std::string *text) {
  HANDLE token;
  static char buf[256];
  DWORD len = 0;
  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) return nullptr;
  GetTokenInformation(token, TokenUser, buf, sizeof buf, &len);
  CloseHandle(token);
  PSID sid = reinterpret_cast<TOKEN_USER *>(buf)->User.Sid;
  LPSTR s = nullptr;
  if (ConvertSidToStringSidA(sid, &s)) {
    *text = s;
    LocalFree(s);
  }
  return sid;
}

// Owner and DACL of a kernel object: exactly one ACE, allowing the user.
void ExpectOwnerOnly(HANDLE h, const char *what) {
  ASSERT_NE(h, nullptr) << what;
  PSID owner = nullptr;
  PACL dacl = nullptr;
  PSECURITY_DESCRIPTOR sd = nullptr;
  ASSERT_EQ(
      GetSecurityInfo(h, SE_KERNEL_OBJECT, OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
                      &owner, nullptr, &dacl, nullptr, &sd),
      static_cast<DWORD>(ERROR_SUCCESS))
      << what;
  std::string user_text;
  PSID user = TokenUserSid(&user_text);
  ASSERT_NE(user, nullptr);
  EXPECT_TRUE(owner != nullptr && EqualSid(owner, user)) << what << ": owner is not the user";
  ASSERT_NE(dacl, nullptr) << what << ": no DACL means everyone has access";
  EXPECT_EQ(dacl->AceCount, 1) << what;
  void *ace = nullptr;
  ASSERT_TRUE(GetAce(dacl, 0, &ace));
  auto *allowed = static_cast<ACCESS_ALLOWED_ACE *>(ace);
  EXPECT_EQ(allowed->Header.AceType, ACCESS_ALLOWED_ACE_TYPE) << what;
  EXPECT_TRUE(EqualSid(reinterpret_cast<PSID>(&allowed->SidStart), user))
      << what << ": the one ACE is not for " << user_text;
  LocalFree(sd);
}

TEST_F(WindowsSecurity, TheMappingAndItsMutexAreOwnerOnly) {
  Load();
  ASSERT_EQ(lib_.x_attach_status(), DLLMEM_OK) << lib_.x_attach_reason();
  HANDLE map = OpenFileMappingW(READ_CONTROL, FALSE, Wide(ObjectName(name_)).c_str());
  ExpectOwnerOnly(map, "mapping");
  CloseHandle(map);
  HANDLE mutex = OpenMutexW(READ_CONTROL, FALSE, Wide(ObjectName(name_, ".dllmem-lock")).c_str());
  ExpectOwnerOnly(mutex, "writer mutex");
  CloseHandle(mutex);
}

TEST_F(WindowsSecurity, AMappingOwnedBySomeoneElseIsRefused) {
  // A mapping whose owner is another principal (BUILTIN\Users). Windows lets
  // only privileged code set such an owner; where it is refused, skip.
  PSECURITY_DESCRIPTOR sd = nullptr;
  ASSERT_TRUE(ConvertStringSecurityDescriptorToSecurityDescriptorW(L"O:BUD:(A;;GA;;;WD)",
                                                                   SDDL_REVISION_1, &sd, nullptr));
  SECURITY_ATTRIBUTES sa = {sizeof sa, sd, FALSE};
  HANDLE squat = CreateFileMappingW(INVALID_HANDLE_VALUE, &sa, PAGE_READWRITE, 0, 8320,
                                    Wide(ObjectName(name_)).c_str());
  LocalFree(sd);
  if (squat == nullptr) GTEST_SKIP() << "this platform will not create an object for another owner";
  PSID owner = nullptr;
  PSECURITY_DESCRIPTOR got = nullptr;
  GetSecurityInfo(squat, SE_KERNEL_OBJECT, OWNER_SECURITY_INFORMATION, &owner, nullptr, nullptr,
                  nullptr, &got);
  std::string user_text;
  bool foreign = owner != nullptr && !EqualSid(owner, TokenUserSid(&user_text));
  LocalFree(got);
  if (!foreign) {
    CloseHandle(squat);
    GTEST_SKIP() << "the owner could not be set to another principal here";
  }
  Load();
  EXPECT_EQ(lib_.x_attach_status(), DLLMEM_FOREIGN_OWNER) << lib_.x_attach_reason();
  units out(8, 0xAAAA);
  lib_.get(out.data(), 8);
  EXPECT_EQ(out[0], 0);
  Unload();
  CloseHandle(squat);
}

// ---- existing objects that grant others access, or cannot be judged --------

// "O:<user>D:P(A;;GA;;;<user>)" followed by `extra` ACEs.
std::wstring OwnerOnlySddl(const std::string &extra) {
  std::string user;
  TokenUserSid(&user);
  return Wide("O:" + user + "D:P(A;;GA;;;" + user + ")" + extra);
}

// Creates an object as a peer would, before the library attaches: a mapping
// of the default segment's size or a mutex, with the given SDDL.
HANDLE Precreate(bool mapping, const std::string &name, const std::wstring &sddl) {
  PSECURITY_DESCRIPTOR sd = nullptr;
  if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl.c_str(), SDDL_REVISION_1, &sd,
                                                            nullptr))
    return nullptr;
  SECURITY_ATTRIBUTES sa = {sizeof sa, sd, FALSE};
  std::wstring wide = Wide(ObjectName(name));
  HANDLE h = mapping ? CreateFileMappingW(INVALID_HANDLE_VALUE, &sa, PAGE_READWRITE, 0, 12288,
                                          wide.c_str())
                     : CreateMutexW(&sa, FALSE, wide.c_str());
  LocalFree(sd);
  return h;
}

// Refused, and the exports stay safe: Get yields an empty string.
void ExpectRefusedAsInsecure(const shim_lib &lib, const char *what) {
  EXPECT_EQ(lib.x_attach_status(), DLLMEM_INSECURE) << what << ": " << lib.x_attach_reason();
  units out(8, 0xAAAA);
  lib.get(out.data(), 8);
  EXPECT_EQ(out[0], 0) << what;
}

TEST_F(WindowsSecurity, AMappingThatGrantsEveryoneReadIsRefused) {
  HANDLE h = Precreate(true, name_, OwnerOnlySddl("(A;;GR;;;WD)"));
  ASSERT_NE(h, nullptr);
  Load();
  ExpectRefusedAsInsecure(lib_, "mapping");
  Unload();
  CloseHandle(h);
}

TEST_F(WindowsSecurity, AWriterMutexThatGrantsEveryoneIsRefused) {
  HANDLE h = Precreate(false, name_ + ".dllmem-lock", OwnerOnlySddl("(A;;GA;;;WD)"));
  ASSERT_NE(h, nullptr);
  Load();
  ExpectRefusedAsInsecure(lib_, "writer mutex");
  Unload();
  CloseHandle(h);
}

TEST_F(WindowsSecurity, AnAttachMutexThatGrantsUsersSynchronizeIsRefused) {
  HANDLE h = Precreate(false, name_ + ".dllmem-attach", OwnerOnlySddl("(A;;0x100000;;;BU)"));
  ASSERT_NE(h, nullptr);
  Load();
  ExpectRefusedAsInsecure(lib_, "attach mutex");
  Unload();
  CloseHandle(h);
}

// An owner but no DACL at all: everyone may open it.
TEST_F(WindowsSecurity, AMappingWithoutAnAccessListIsRefused) {
  std::string user;
  TokenUserSid(&user);
  HANDLE h = Precreate(true, name_, Wide("O:" + user + "D:NO_ACCESS_CONTROL"));
  ASSERT_NE(h, nullptr);
  HANDLE again = OpenFileMappingW(FILE_MAP_ALL_ACCESS, FALSE, Wide(ObjectName(name_)).c_str());
  if (again == nullptr) {
    CloseHandle(h);
    GTEST_SKIP() << "this platform grants nobody access to an object without a DACL (Wine)";
  }
  CloseHandle(again);
  Load();
  ExpectRefusedAsInsecure(lib_, "mapping without a DACL");
  Unload();
  CloseHandle(h);
}

// The control for the refusals above: mutexes that grant the user and
// LocalSystem (Windows' own default) are used.
TEST_F(WindowsSecurity, MutexesGrantingOnlyTheUserAndSystemAreUsed) {
  HANDLE a = Precreate(false, name_ + ".dllmem-attach", OwnerOnlySddl("(A;;GA;;;SY)"));
  HANDLE w = Precreate(false, name_ + ".dllmem-lock", OwnerOnlySddl("(A;;GA;;;SY)"));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(w, nullptr);
  Load();
  EXPECT_EQ(lib_.x_attach_status(), DLLMEM_OK) << lib_.x_attach_reason();
  SetUnits(widen("ok"));
  EXPECT_EQ(GetAll(), text("ok"));
  Unload();
  CloseHandle(a);
  CloseHandle(w);
}

// Fail closed: when the owner and DACL of an existing object cannot be read
// (the test build makes GetSecurityInfo fail), the object is refused.
TEST_F(WindowsSecurity, AnObjectWhoseSecurityCannotBeReadIsRefused) {
  if (g_hooks_library.empty()) GTEST_SKIP() << "needs the library's test-hook build";
  HANDLE h = Precreate(false, name_ + ".dllmem-lock", OwnerOnlySddl(""));
  ASSERT_NE(h, nullptr);
  InjectFault("GetSecurityInfo");
  Load("", g_hooks_library);
  ClearFaults();
  EXPECT_EQ(lib_.x_attach_status(), DLLMEM_OS_ERROR) << lib_.x_attach_reason();
  EXPECT_NE(std::string(lib_.x_attach_reason()).find("GetSecurityInfo"), std::string::npos)
      << lib_.x_attach_reason();
  Unload();
  CloseHandle(h);
}

// ---- DllMain's wait under the loader lock -------------------------------------

long long MsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               t0)
      .count();
}

// Holds a named mutex (owner-only, as the library makes them) on its own
// thread, as a peer stopped inside its attach would.
class MutexHolder {
 public:
  explicit MutexHolder(const std::wstring &name) {
    ready_ = CreateEventW(nullptr, TRUE, FALSE, nullptr);
    stop_ = CreateEventW(nullptr, TRUE, FALSE, nullptr);
    thread_ = std::thread([this, name] {
      PSECURITY_DESCRIPTOR sd = nullptr;
      ConvertStringSecurityDescriptorToSecurityDescriptorW(OwnerOnlySddl("").c_str(),
                                                           SDDL_REVISION_1, &sd, nullptr);
      SECURITY_ATTRIBUTES sa = {sizeof sa, sd, FALSE};
      HANDLE m = CreateMutexW(&sa, TRUE, name.c_str());
      held_ = m != nullptr && GetLastError() != ERROR_ALREADY_EXISTS;
      SetEvent(ready_);
      WaitForSingleObject(stop_, 120000);
      if (m != nullptr) {
        ReleaseMutex(m);
        CloseHandle(m);
      }
      LocalFree(sd);
    });
    WaitForSingleObject(ready_, 10000);
  }
  ~MutexHolder() {
    SetEvent(stop_);
    thread_.join();
    CloseHandle(ready_);
    CloseHandle(stop_);
  }
  bool held() const { return held_; }

 private:
  HANDLE ready_, stop_;
  bool held_ = false;
  std::thread thread_;
};

// DllMain runs under the loader lock: a peer that holds the attach lock (it
// stopped inside its own attach) fails this attach with TIMEOUT within about
// a second, not after 10 s, and the exports stay safe.
TEST_F(WindowsSecurity, AHeldAttachLockEndsTheAttachWithTimeoutWithinASecond) {
  MutexHolder peer(Wide(ObjectName(name_, ".dllmem-attach")));
  ASSERT_TRUE(peer.held());
  auto t0 = std::chrono::steady_clock::now();
  Load();
  long long ms = MsSince(t0);
  EXPECT_EQ(lib_.x_attach_status(), DLLMEM_TIMEOUT) << lib_.x_attach_reason();
  EXPECT_LT(ms, 2500) << "DllMain waited this long under the loader lock";
  EXPECT_NE(std::string(lib_.x_attach_reason()).find("dllmem-attach"), std::string::npos)
      << lib_.x_attach_reason();
  EXPECT_EQ(GetAll(), units{});
  SetUnits(widen("nowhere"));
  EXPECT_EQ(lib_.x_last_status(), DLLMEM_NOT_ATTACHED);
}

// A writer stopped in the middle of a Set holds the writer lock; attaching
// does not wait for it (a stopped or suspended writer would otherwise hold up
// every load), and the new process reads the whole string the reader
// protocol points it at.
TEST_F(WindowsSecurity, AWriterHoldingTheWriterLockDoesNotDelayAttach) {
  if (g_hooks_library.empty()) GTEST_SKIP() << "needs the library's test-hook build";
  shim_child writer;
  StartWriterStoppedMidWrite(&writer);
  if (HasFatalFailure()) return;
  auto t0 = std::chrono::steady_clock::now();
  Load();
  long long ms = MsSince(t0);
  EXPECT_EQ(lib_.x_attach_status(), DLLMEM_OK) << lib_.x_attach_reason();
  EXPECT_LT(ms, 1000) << "attach waited for the writer";
  units got = GetAll(static_cast<uint32_t>(Capacity()));
  EXPECT_FALSE(got.empty());
  EXPECT_TRUE(shim_msg_valid(got.data(), got.size())) << "torn";
  shim_child_kill(&writer, SIGKILL);
  EXPECT_EQ(shim_child_wait(&writer, 10000, nullptr, 0), 128 + SIGKILL);
}

}  // namespace
