// Bounds: what Set keeps and what Get writes, for every length around the
// capacity, every interesting cch, NULL, surrogate pairs and other sizes.
// Inputs and outputs live in guard-page buffers of exactly their size.
#include "fixture.h"

#include <csignal>

namespace {

constexpr size_t kCap = 2048;  // default DLLMEM_SIZE 4096 bytes

using Bounds = LibraryTest;
using CchZero = LibraryTest;
using Extended = ExtendedTest;

// A guard-page buffer holding s (n units) plus its terminator.
struct GuardString {
  explicit GuardString(const units &s) : n(s.size()), p(shim_guard_alloc(s.size())) {
    std::copy(s.begin(), s.end(), p);
  }
  ~GuardString() { shim_guard_free(p, n); }
  size_t n;
  dllmem_unit *p;
};

class SetLength : public LibraryTest, public ::testing::WithParamInterface<size_t> {};

TEST_P(SetLength, StoresAtMostCapacityMinusOneUnits) {
  Load();
  size_t len = GetParam();
  units s = make_units(len);
  GuardString in(s);
  lib_.set(in.p);
  units got = GetAll(static_cast<uint32_t>(kCap + 16));
  size_t want = std::min(len, kCap - 1);
  ASSERT_EQ(got.size(), want);
  EXPECT_TRUE(std::equal(got.begin(), got.end(), s.begin()));
}

INSTANTIATE_TEST_SUITE_P(Bounds, SetLength,
                         ::testing::Values(0, 1, kCap - 2, kCap - 1, kCap, kCap + 1, 2 * kCap,
                                           100000));

struct CchCase {
  size_t len;
  uint32_t cch;
};

class GetCch : public LibraryTest, public ::testing::WithParamInterface<CchCase> {};

TEST_P(GetCch, WritesAtMostCchUnitsIncludingTheTerminator) {
  Load();
  CchCase c = GetParam();
  SetUnits(make_units(c.len));
  dllmem_unit *out = shim_guard_alloc(c.cch);
  ASSERT_NE(out, nullptr);
  lib_.get(out, c.cch);  // a write past cch units faults on the guard page
  if (c.cch > 0) {
    size_t want = std::min<size_t>(c.len, c.cch - 1);
    EXPECT_EQ(out[want], 0) << "terminator missing";
    units s = make_units(c.len);
    EXPECT_TRUE(std::equal(out, out + want, s.begin()));
  }
  shim_guard_free(out, c.cch);
}

std::string CchName(const ::testing::TestParamInfo<CchCase> &i) {
  return "len" + std::to_string(i.param.len) + "_cch" + std::to_string(i.param.cch);
}

INSTANTIATE_TEST_SUITE_P(Bounds, GetCch,
                         ::testing::Values(CchCase{10, 1}, CchCase{10, 2}, CchCase{10, 10},
                                           CchCase{10, 11}, CchCase{10, 12}, CchCase{kCap - 1, 1},
                                           CchCase{kCap - 1, 2}, CchCase{kCap - 1, kCap - 1},
                                           CchCase{kCap - 1, kCap}, CchCase{0, 1}),
                         CchName);

// cch == 0 is its own category: the example's loop wraps it to 0xFFFFFFFF.
TEST_F(CchZero, GetWritesNothing) {
  Load();
  SetUnits(make_units(100));
  dllmem_unit *out = shim_guard_alloc(0);  // zero units: the first write faults
  ASSERT_NE(out, nullptr);
  lib_.get(out, 0);
  shim_guard_free(out, 0);
}

TEST_F(CchZero, GetOnAnEmptySegmentWritesNothing) {
  Load();
  dllmem_unit *out = shim_guard_alloc(0);
  ASSERT_NE(out, nullptr);
  lib_.get(out, 0);
  shim_guard_free(out, 0);
}

TEST_F(Bounds, GetIntoANullBufferWritesNothing) {
  Load();
  SetUnits(make_units(5));
  lib_.get(nullptr, 0);
  lib_.get(nullptr, 64);
  EXPECT_EQ(GetAll().size(), 5u);
}

TEST_F(Bounds, SetOfNullStoresNothing) {
  Load();
  SetUnits(make_units(5));
  lib_.set(nullptr);
  EXPECT_EQ(GetAll().size(), 5u);
}

TEST_F(Bounds, FirstGetSeesTheEmptyString) {
  Load();
  EXPECT_TRUE(GetAll().empty());
}

// Surrogates: a pair straddling the cut is dropped whole, wherever the cut is.
class SurrogateCut : public LibraryTest, public ::testing::WithParamInterface<int> {};

TEST_P(SurrogateCut, SetTruncationNeverSplitsAPair) {
  Load();
  int shift = GetParam();  // where the pair's high half sits relative to cap-2
  size_t len = kCap + 4;
  units s = make_units(len);
  size_t hi = static_cast<size_t>(static_cast<long>(kCap) - 2 + shift);
  s[hi] = 0xD83D;
  s[hi + 1] = 0xDE00;
  SetUnits(s);
  units got = GetAll(kCap + 16);
  size_t want = (hi == kCap - 2) ? kCap - 2 : kCap - 1;  // pair at cap-2/cap-1 is cut
  ASSERT_EQ(got.size(), want);
  EXPECT_TRUE(std::equal(got.begin(), got.end(), s.begin()));
  if (!got.empty()) {
    EXPECT_NE(got.back(), 0xD83D) << "a high surrogate was left dangling";
  }
}

INSTANTIATE_TEST_SUITE_P(Bounds, SurrogateCut, ::testing::Values(-2, -1, 0, 1, 2));

class SurrogateCch : public LibraryTest, public ::testing::WithParamInterface<uint32_t> {};

TEST_P(SurrogateCch, GetTruncationNeverSplitsAPair) {
  Load();
  units s;  // "a" then pairs: a, H, L, H, L, ... so every cch cuts somewhere different
  s.push_back('a');
  for (int i = 0; i < 10; i++) {
    s.push_back(0xD83D);
    s.push_back(0xDE00);
  }
  s.push_back(0);
  SetUnits(s);
  uint32_t cch = GetParam();
  dllmem_unit *out = shim_guard_alloc(cch);
  lib_.get(out, cch);
  size_t n = shim_ulen(out);
  EXPECT_LT(n, cch);
  EXPECT_EQ(n % 2, 1u) << "cut inside a pair (n=" << n << ")";
  EXPECT_TRUE(std::equal(out, out + n, s.begin()));
  shim_guard_free(out, cch);
}

INSTANTIATE_TEST_SUITE_P(Bounds, SurrogateCch, ::testing::Range(2u, 23u));

TEST_F(Bounds, SmallerSizeBoundsTheStringToItsCapacity) {
  Load("256");
  units s = make_units(500);
  SetUnits(s);
  units got = GetAll(1024);
  ASSERT_EQ(got.size(), 127u);
  EXPECT_TRUE(std::equal(got.begin(), got.end(), s.begin()));
}

TEST_F(Bounds, LargerSizeHoldsLongerStrings) {
  Load("65536");
  units s = make_units(40000);
  SetUnits(s);
  units got = GetAll(1u << 16);
  ASSERT_EQ(got.size(), 32767u);
  EXPECT_TRUE(std::equal(got.begin(), got.end(), s.begin()));
}

// ---- the extended API -------------------------------------------------------

TEST_F(Extended, SetReportsTruncationAndTheUnitsKept) {
  Load();
  units s = make_units(3000);
  size_t stored = 0;
  EXPECT_EQ(lib_.x_set(s.data(), 3000, &stored), DLLMEM_TRUNCATED);
  EXPECT_EQ(stored, kCap - 1);
  EXPECT_EQ(lib_.x_set(s.data(), 100, &stored), DLLMEM_OK);
  EXPECT_EQ(stored, 100u);
}

TEST_F(Extended, SetRefusesAnEmbeddedNulAndKeepsTheOldString) {
  Load();
  SetUnits(make_units(7));
  units s = make_units(10);
  s[4] = 0;
  size_t stored = 99;
  EXPECT_EQ(lib_.x_set(s.data(), 10, &stored), DLLMEM_EMBEDDED_NUL);
  EXPECT_EQ(stored, 0u);
  EXPECT_EQ(GetAll().size(), 7u);
}

TEST_F(Extended, GetReportsTheFullLengthLikeSnprintf) {
  Load();
  SetUnits(make_units(300));
  size_t full = 0;
  EXPECT_EQ(lib_.x_get(nullptr, 0, &full), DLLMEM_OK);
  EXPECT_EQ(full, 300u);
  units buf(50);
  EXPECT_EQ(lib_.x_get(buf.data(), buf.size(), &full), DLLMEM_TRUNCATED);
  EXPECT_EQ(full, 300u);
  EXPECT_EQ(shim_ulen(buf.data()), 49u);
  units big(301);
  EXPECT_EQ(lib_.x_get(big.data(), big.size(), &full), DLLMEM_OK);
}

TEST_F(Extended, DropInSetReportsTruncationThroughLastStatus) {
  Load();
  SetUnits(make_units(10));
  EXPECT_EQ(lib_.x_last_status(), DLLMEM_OK);
  SetUnits(make_units(5000));
  EXPECT_EQ(lib_.x_last_status(), DLLMEM_TRUNCATED);
}

TEST_F(Extended, CapacityAndAttachStatusDescribeTheSegment) {
  Load("1000");
  EXPECT_EQ(lib_.x_capacity(), 500u);
  EXPECT_EQ(lib_.x_attach_status(), DLLMEM_OK);
  EXPECT_NE(std::string(lib_.x_attach_reason()).find(name_), std::string::npos);
  dllmem_info info;
  ASSERT_EQ(lib_.x_get_info(&info), DLLMEM_OK);
  EXPECT_EQ(info.data_bytes, 1000u);
  if (info.attached >= 0) {  // -1: the OS cannot say (Windows)
    EXPECT_EQ(info.attached, 1);
  }
  EXPECT_EQ(std::string(info.name), name_);
}

TEST_F(Extended, InfoCountsSeventyAttachedProcesses) {
  Load();
  if (!CanCountAttached()) GTEST_SKIP() << "this platform cannot count attached processes";
  std::string env = EnvName();
  const char *envp[] = {env.c_str(), nullptr};
  const char *args[] = {g_library.c_str(), nullptr};
  std::vector<shim_child> holders(70);
  for (auto &h : holders) {
    ASSERT_TRUE(shim_spawn_role(&h, "hold", args, envp));
  }
  for (auto &h : holders) {
    char line[32];
    ASSERT_TRUE(shim_child_read_line(&h, 20000, line, sizeof line));
  }
  dllmem_info info;
  ASSERT_EQ(lib_.x_get_info(&info), DLLMEM_OK);
  EXPECT_EQ(info.attached, 71);
  for (auto &h : holders) shim_child_kill(&h, SIGTERM);
  for (auto &h : holders) shim_child_wait(&h, 10000, nullptr, 0);
}

TEST_F(Extended, InfoCountsEveryAttachedProcess) {
  Load();
  if (!CanCountAttached()) GTEST_SKIP() << "this platform cannot count attached processes";
  std::string env = EnvName();
  const char *envp[] = {env.c_str(), nullptr};
  const char *args[] = {g_library.c_str(), nullptr};
  shim_child holders[3];
  for (auto &h : holders) {
    ASSERT_TRUE(shim_spawn_role(&h, "hold", args, envp));
    char line[32];
    ASSERT_TRUE(shim_child_read_line(&h, 10000, line, sizeof line));
  }
  dllmem_info info;
  ASSERT_EQ(lib_.x_get_info(&info), DLLMEM_OK);
  EXPECT_EQ(info.attached, 4);
  shim_child_kill(&holders[0], SIGKILL);  // a dead process's slot goes with it
  shim_child_wait(&holders[0], 10000, nullptr, 0);
  ASSERT_EQ(lib_.x_get_info(&info), DLLMEM_OK);
  EXPECT_EQ(info.attached, 3);
  for (int i = 1; i < 3; i++) {
    shim_child_kill(&holders[i], SIGTERM);
    shim_child_wait(&holders[i], 10000, nullptr, 0);
  }
}

}  // namespace
