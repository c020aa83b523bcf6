// Bounds: what Set keeps and what Get writes, for every length around the
// capacity, every interesting cch, NULL, surrogate pairs and other sizes.
// Inputs and outputs live in guard-page buffers of exactly their size.
#include "fixture.h"

#include <csignal>
#include <tuple>

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

// Surrogates. The rule, stated here independently of the library's code: a
// cut keeps the longest prefix made of whole code points (a high surrogate
// followed by a low one is one code point of two units; any other unit, lone
// surrogates included, is one) that fits in `limit` units.
size_t ModelCut(const units &s, size_t len, size_t limit) {
  size_t kept = 0;
  while (kept < len) {
    bool pair =
        (s[kept] & 0xFC00u) == 0xD800u && kept + 1 < len && (s[kept + 1] & 0xFC00u) == 0xDC00u;
    size_t next = kept + (pair ? 2 : 1);
    if (next > limit) break;
    kept = next;
  }
  return kept;
}

// A pair straddling the cut is dropped whole, wherever the cut is, at odd and
// even capacities: the pair's high half sits at cap-2+shift.
class SurrogateCut : public LibraryTest,
                     public ::testing::WithParamInterface<std::tuple<unsigned, int>> {};

TEST_P(SurrogateCut, SetTruncationNeverSplitsAPair) {
  unsigned bytes = std::get<0>(GetParam());
  int shift = std::get<1>(GetParam());
  Load(std::to_string(bytes));
  size_t cap = bytes / 2;
  ASSERT_EQ(Capacity(), cap);
  size_t len = cap + 4;
  units s = make_units(len);
  size_t hi = static_cast<size_t>(static_cast<long>(cap) - 2 + shift);
  s[hi] = 0xD83D;
  s[hi + 1] = 0xDE00;
  GuardString in(s);
  lib_.set(in.p);
  units got = GetAll(static_cast<uint32_t>(cap + 16));
  size_t want = ModelCut(s, len, cap - 1);
  EXPECT_EQ(want, hi == cap - 2 ? cap - 2 : cap - 1);  // the model agrees with the rule
  ASSERT_EQ(got.size(), want) << "capacity " << cap << ", pair at " << hi;
  EXPECT_TRUE(std::equal(got.begin(), got.end(), s.begin()));
}

// Nothing but pairs: an odd limit (even capacity) must drop the last half pair.
class SurrogatePairs : public LibraryTest, public ::testing::WithParamInterface<unsigned> {};

TEST_P(SurrogatePairs, AStringOfPairsIsCutBetweenPairs) {
  unsigned bytes = GetParam();
  Load(std::to_string(bytes));
  size_t cap = bytes / 2;
  units s;
  for (size_t i = 0; i < cap + 3; i++) {
    s.push_back(0xD800 + static_cast<dllmem_unit>(i % 1024));
    s.push_back(0xDC00 + static_cast<dllmem_unit>(i % 1024));
  }
  size_t len = s.size();
  s.push_back(0);
  SetUnits(s);
  units got = GetAll(static_cast<uint32_t>(cap + 16));
  ASSERT_EQ(got.size(), ModelCut(s, len, cap - 1)) << "capacity " << cap;
  EXPECT_EQ(got.size() % 2, 0u);
  EXPECT_TRUE(std::equal(got.begin(), got.end(), s.begin()));
}

std::string CutName(const ::testing::TestParamInfo<std::tuple<unsigned, int>> &i) {
  int shift = std::get<1>(i.param);
  return "cap" + std::to_string(std::get<0>(i.param) / 2) + "_shift" +
         (shift < 0 ? "m" + std::to_string(-shift) : std::to_string(shift));
}

// Capacities 32, 33, 65, 2047, 2048 and 4095 units: odd and even, small and large.
#define DLLMEM_CUT_SIZES ::testing::Values(64u, 66u, 130u, 4094u, 4096u, 8190u)
INSTANTIATE_TEST_SUITE_P(Bounds, SurrogateCut,
                         ::testing::Combine(DLLMEM_CUT_SIZES, ::testing::Values(-2, -1, 0, 1, 2)),
                         CutName);
INSTANTIATE_TEST_SUITE_P(Bounds, SurrogatePairs, DLLMEM_CUT_SIZES,
                         [](const ::testing::TestParamInfo<unsigned> &i) {
                           return "cap" + std::to_string(i.param / 2);
                         });

// Get's cut at every cch from 2 to 22 over "a" followed by pairs, so every cch
// cuts somewhere different: exactly the model's prefix, terminated.
class SurrogateCch : public LibraryTest, public ::testing::WithParamInterface<uint32_t> {};

TEST_P(SurrogateCch, GetTruncationNeverSplitsAPair) {
  Load();
  units s;
  s.push_back('a');
  for (int i = 0; i < 10; i++) {
    s.push_back(0xD83D);
    s.push_back(0xDE00);
  }
  size_t len = s.size();
  s.push_back(0);
  SetUnits(s);
  uint32_t cch = GetParam();
  dllmem_unit *out = shim_guard_alloc(cch);
  lib_.get(out, cch);
  size_t want = ModelCut(s, len, cch - 1);
  EXPECT_EQ(want, (cch - 1) % 2 == 1 ? cch - 1 : cch - 2);  // the model agrees with the rule
  size_t n = 0;
  while (n < cch && out[n] != 0) n++;
  ASSERT_LT(n, cch) << "no terminator within cch";
  EXPECT_EQ(n, want) << "cch " << cch;
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
  shim_child holders[3];
  for (auto &h : holders) {
    StartHolder(&h, g_library);
    if (HasFatalFailure()) return;
  }
  dllmem_info info;
  ASSERT_EQ(lib_.x_get_info(&info), DLLMEM_OK);
  EXPECT_EQ(info.attached, 4);
  shim_child_kill(&holders[0], SIGKILL);  // a dead process's slot goes with it
  shim_child_wait(&holders[0], 10000, nullptr, 0);
  ASSERT_EQ(lib_.x_get_info(&info), DLLMEM_OK);
  EXPECT_EQ(info.attached, 3);
  for (int i = 1; i < 3; i++) StopHolder(&holders[i]);
}

// Counting asks the kernel one range at a time; when it cannot answer, the
// count is unknown (-1), never a number that looks like a count.
TEST_F(Extended, InfoSaysUnknownWhenTheKernelCannotBeAsked) {
#if defined(_WIN32)
  GTEST_SKIP() << "Windows cannot count attached processes";
#else
  if (g_hooks_library.empty()) GTEST_SKIP() << "needs the library's test-hook build";
  InjectFault("count-getlk");
  Load("", g_hooks_library);
  ASSERT_EQ(lib_.x_attach_status(), DLLMEM_OK) << lib_.x_attach_reason();
  dllmem_info info;
  ASSERT_EQ(lib_.x_get_info(&info), DLLMEM_OK);
  EXPECT_EQ(info.attached, -1) << "a failed F_GETLK was reported as a count";
  EXPECT_EQ(std::string(info.name), name_);
#endif
}

// A few attached processes are counted without allocating: describing a
// segment must not fail for want of memory while a few dozen are attached.
TEST_F(Extended, InfoCountsAFewProcessesWithoutAllocating) {
#if defined(_WIN32)
  GTEST_SKIP() << "Windows cannot count attached processes";
#else
  if (g_hooks_library.empty()) GTEST_SKIP() << "needs the library's test-hook build";
  InjectFault("count-malloc");
  Load("", g_hooks_library);
  ClearFaults();  // the holders' attaches are not under test
  shim_child holders[2];
  for (auto &h : holders) {
    StartHolder(&h, g_library);
    if (HasFatalFailure()) return;
  }
  dllmem_info info;
  ASSERT_EQ(lib_.x_get_info(&info), DLLMEM_OK);
  EXPECT_EQ(info.attached, 3) << "counting two other processes needed memory";
  for (auto &h : holders) StopHolder(&h);
#endif
}

}  // namespace
