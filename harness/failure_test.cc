// Attach failures: the library still loads, the drop-in exports do nothing
// harmful (Get yields the empty string), and the extended API says why.
#include "fixture.h"

#include <sys/stat.h>

namespace {

using AttachFailure = LibraryTest;

void ExpectSafeWhileDetached(shim_lib &lib) {
  units s = make_units(50);
  lib.set(s.data());
  dllmem_unit *out = shim_guard_alloc(16);
  lib.get(out, 16);
  EXPECT_EQ(out[0], 0);
  lib.get(out, 0);
  lib.get(nullptr, 16);
  lib.set(nullptr);
  shim_guard_free(out, 16);
}

TEST_F(AttachFailure, ADirectoryInThePlaceOfTheObjectLeavesEveryExportSafe) {
  std::string path = "/dev/shm/" + name_;
  ASSERT_EQ(mkdir(path.c_str(), 0700), 0);
  expect_no_segment_ = false;  // the directory is the test's own
  Load();
  if (HasExtendedApi()) {
    EXPECT_EQ(lib_.x_attach_status(), DLLMEM_WRONG_KIND) << lib_.x_attach_reason();
  }
  ExpectSafeWhileDetached(lib_);
}

TEST_F(AttachFailure, AnInvalidSizeIsRefusedNotReplaced) {
  for (const char *bad : {"0", "63", "65", "abc", "4096x", "1073741826", "99999999999999999999"}) {
    Load(bad);
    if (HasExtendedApi()) {
      EXPECT_EQ(lib_.x_attach_status(), DLLMEM_BAD_CONFIG) << bad;
      EXPECT_NE(std::string(lib_.x_attach_reason()).find("DLLMEM_SIZE"), std::string::npos);
      EXPECT_EQ(lib_.x_capacity(), 0u);
    }
    ExpectSafeWhileDetached(lib_);
    Unload();
    EXPECT_FALSE(shim_segment_exists(name_.c_str())) << "attached despite DLLMEM_SIZE=" << bad;
  }
}

TEST_F(AttachFailure, AnInvalidNameIsRefused) {
  const std::string too_long(300, 'n');
  for (const char *bad : {"", "a/b", "..", too_long.c_str()}) {
    setenv("DLLMEM_NAME", bad, 1);
    Load();
    if (HasExtendedApi()) {
      EXPECT_EQ(lib_.x_attach_status(), DLLMEM_BAD_CONFIG) << lib_.x_attach_reason();
    }
    ExpectSafeWhileDetached(lib_);
    Unload();
  }
}

class InjectedFailure : public HookTest, public ::testing::WithParamInterface<const char *> {};

TEST_P(InjectedFailure, LeavesEveryExportSafeAndSaysWhy) {
  InjectFault(GetParam());
  Load("", g_hooks_library);
  EXPECT_NE(lib_.x_attach_status(), DLLMEM_OK);
  EXPECT_NE(std::string(lib_.x_attach_reason()).find(GetParam()), std::string::npos)
      << lib_.x_attach_reason();
  ExpectSafeWhileDetached(lib_);
  Unload();
}

INSTANTIATE_TEST_SUITE_P(AttachFailure, InjectedFailure,
                         ::testing::Values("shm_open", "fstat", "ftruncate", "mmap", "fcntl"));

}  // namespace
