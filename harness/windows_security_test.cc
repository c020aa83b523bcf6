// Windows only: the mapping and the writer mutex carry an owner-only DACL and
// an explicit owner, and an object someone else owns is refused.
#include <windows.h>

#include <aclapi.h>
#include <sddl.h>

#include <string>

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
  HANDLE map = OpenFileMappingW(READ_CONTROL, FALSE, Wide("Local\\" + name_).c_str());
  ExpectOwnerOnly(map, "mapping");
  CloseHandle(map);
  HANDLE mutex = OpenMutexW(READ_CONTROL, FALSE, Wide("Local\\" + name_ + ".dllmem-lock").c_str());
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
                                    Wide("Local\\" + name_).c_str());
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

}  // namespace
