// Windows only: what attach makes of a mapping it did not create.
#include <windows.h>

#include <algorithm>
#include <string>
#include <vector>

#include "fixture.h"

namespace {

using WindowsAttach = ExtendedTest;

std::wstring Wide(const std::string &s) {
  std::wstring w(s.size(), L'\0');
  for (size_t i = 0; i < s.size(); i++) w[i] = static_cast<wchar_t>(s[i]);
  return w;
}

std::string FirstLine(const std::string &s) { return s.substr(0, s.find('\n')); }

// The whole view of the segment as a peer sees it (page-rounded).
std::vector<unsigned char> Snapshot(const std::string &name) {
  uint64_t size = 0;
  void *p = shim_segment_map(name.c_str(), &size);
  if (p == nullptr) return {};
  const unsigned char *b = static_cast<const unsigned char *>(p);
  std::vector<unsigned char> copy(b, b + size);
  shim_segment_unmap(p, size);
  return copy;
}

// A process configured with another DLLMEM_SIZE joins a segment it did not
// create: it must be refused with SIZE_MISMATCH and write nothing. 2048 would
// find what looks like an unfinished control block where it expects one
// (zeros inside the creator's data area), 5000 maps to the same number of pages as the creator,
// 10000 and 12288 round up to the creator's page count as legacy mappings do.
TEST_F(WindowsAttach, AnotherSizeIsRefusedAndTheCreatorsBytesStayAsTheyWere) {
  Load();
  ASSERT_EQ(lib_.x_attach_status(), DLLMEM_OK) << lib_.x_attach_reason();
  SetUnits(widen("hello"));
  const std::vector<unsigned char> before = Snapshot(name_);
  ASSERT_FALSE(before.empty()) << "cannot map the segment as a peer";

  // The same size joins and reads the string: the role and the path work.
  std::string out;
  ASSERT_EQ(RunRole(name_, "get", {g_library}, 30000, &out, {"DLLMEM_SIZE=4096"}), 0);
  EXPECT_EQ(out, "hello\n");

  for (const char *size : {"2048", "5000", "10000", "12288"}) {
    out.clear();
    EXPECT_EQ(RunRole(name_, "attach", {g_library, "intruder"}, 30000, &out,
                      {std::string("DLLMEM_SIZE=") + size}),
              0);
    EXPECT_EQ(FirstLine(out), "DLLMEM_SIZE_MISMATCH") << "DLLMEM_SIZE=" << size << ": " << out;
    EXPECT_EQ(GetAll(), text("hello")) << "after a process with DLLMEM_SIZE=" << size;
    EXPECT_TRUE(Snapshot(name_) == before)
        << "a process with DLLMEM_SIZE=" << size << " changed the creator's bytes";
  }
  SetUnits(widen("world"));
  EXPECT_EQ(GetAll(), text("world"));
}

// The original example's mapping (data only, 4096 bytes, default security)
// is still shared: the string at offset 0, no protocol.
TEST_F(WindowsAttach, TheOriginalExamplesMappingIsUsedAsALegacyMapping) {
  HANDLE map = CreateFileMappingW(INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE, 0, 4096,
                                  Wide(ObjectName(name_)).c_str());
  ASSERT_NE(map, nullptr);
  auto *view = static_cast<dllmem_unit *>(MapViewOfFile(map, FILE_MAP_ALL_ACCESS, 0, 0, 0));
  ASSERT_NE(view, nullptr);
  const char *s = "from the example";
  for (size_t i = 0; s[i]; i++) view[i] = static_cast<dllmem_unit>(s[i]);
  Load();
  EXPECT_EQ(lib_.x_attach_status(), DLLMEM_OK) << lib_.x_attach_reason();
  dllmem_info info;
  ASSERT_EQ(lib_.x_get_info(&info), DLLMEM_OK);
  EXPECT_EQ(info.layout_version, 0u) << "not treated as a legacy mapping";
  EXPECT_EQ(GetAll(), text("from the example"));
  SetUnits(widen("from dllmem"));
  EXPECT_EQ(view[0], 'f');
  EXPECT_EQ(view[5], 'd');
  EXPECT_EQ(view[11], 0);
  Unload();
  UnmapViewOfFile(view);
  CloseHandle(map);
}

// A name with a '\' names its own namespace: the library uses it as it is
// (not "Local\Local\..."), and a peer going through the shim reaches the same
// object: the bytes the library stored, under exactly that name. The names
// are compared as text too: the kernel's Local and Global links make
// "Local\Local\x" open the same object as "Local\x", so the open alone
// cannot tell the rule from one that always prefixes.
TEST_F(WindowsAttach, ANameWithItsOwnNamespaceIsOneObjectForTheLibraryAndAPeer) {
  name_ = "Local\\" + name_;
  shim_setenv("DLLMEM_NAME", name_.c_str());
  Load();
  ASSERT_EQ(lib_.x_attach_status(), DLLMEM_OK) << lib_.x_attach_reason();
  SetUnits(widen("spaced"));
  dllmem_info info;
  ASSERT_EQ(lib_.x_get_info(&info), DLLMEM_OK);
  EXPECT_EQ(std::string(info.path), name_);

  // The object carries the name literally, as written, not a derived one.
  HANDLE raw = OpenFileMappingW(FILE_MAP_READ, FALSE, Wide(name_).c_str());
  EXPECT_NE(raw, nullptr) << "no mapping named " << name_;
  if (raw != nullptr) CloseHandle(raw);

  // The shim's peer view finds it and sees the library's string.
  EXPECT_EQ(ObjectName(name_), name_);
  const std::vector<unsigned char> peer = Snapshot(name_);
  ASSERT_FALSE(peer.empty()) << "the shim cannot map " << name_;
  std::vector<unsigned char> want;
  for (const char *c = "spaced"; *c; c++) {
    want.push_back(static_cast<unsigned char>(*c));
    want.push_back(0);  // UTF-16LE
  }
  EXPECT_TRUE(std::search(peer.begin(), peer.end(), want.begin(), want.end()) != peer.end())
      << "the peer's view does not hold the stored string";
}

}  // namespace
