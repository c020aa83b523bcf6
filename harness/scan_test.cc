// The core's word-at-a-time NUL scan against a plain loop, for every start
// alignment, terminator position and bound, with every string ending right
// before a PROT_NONE page so an over-read across the page faults.
#include <gtest/gtest.h>

extern "C" {
#include "shim.h"
#include "units.h"
}

namespace {

size_t NaiveScan(const dllmem_unit *s, size_t max) {
  size_t i = 0;
  while (i < max && s[i] != 0) i++;
  return i;
}

TEST(Scan, AgreesWithAPlainLoopForEveryAlignmentAndTerminator) {
  for (size_t len = 0; len < 300; len++) {
    // The terminator is the buffer's last unit, right before the guard page;
    // the buffer's start therefore walks through every alignment.
    dllmem_unit *buf = shim_guard_alloc(len + 1);
    ASSERT_NE(buf, nullptr);
    for (size_t i = 0; i < len; i++) buf[i] = static_cast<dllmem_unit>(0x0100 + i);
    buf[len] = 0;
    for (size_t max : {size_t{0}, size_t{1}, len / 2, len, len + 1, size_t{1} << 20}) {
      ASSERT_EQ(dllmem_scan_nul(buf, max), NaiveScan(buf, max)) << "len " << len << " max " << max;
    }
    shim_guard_free(buf, len + 1);
  }
}

TEST(Scan, FindsTheFirstNulAmongSeveral) {
  std::vector<dllmem_unit> v(200, 'x');
  for (size_t first = 0; first < 150; first++) {
    std::fill(v.begin(), v.end(), 'x');
    v[first] = 0;
    v[first + 7] = 0;
    v.back() = 0;
    for (size_t off = 0; off < 8; off++) {
      ASSERT_EQ(dllmem_scan_nul(v.data() + off, 190), NaiveScan(v.data() + off, 190));
    }
  }
}

TEST(Scan, AMisalignedStringIsScannedUnitByUnit) {
  alignas(16) unsigned char raw[64] = {};
  for (size_t i = 1; i + 1 < 41; i += 2) raw[i] = 'x';  // units 'x' at odd offsets 1..39
  const dllmem_unit *odd = reinterpret_cast<const dllmem_unit *>(raw + 1);
  EXPECT_EQ(dllmem_scan_nul(odd, 100), 20u);
  EXPECT_EQ(dllmem_scan_nul(odd, 7), 7u);
}

TEST(Scan, UnitsWithAZeroByteAreNotTerminators) {
  std::vector<dllmem_unit> v = {0x0100, 0x0001, 0x1000, 0x0010, 0xFF00, 0x00FF, 0};
  EXPECT_EQ(dllmem_scan_nul(v.data(), 100), 6u);
}

TEST(PairSafeCut, DropsOnlyAHighSurrogateWhoseLowHalfIsCutOff) {
  dllmem_unit s[] = {'a', 0xD800, 0xDC00, 'b', 0xD800, 'c', 0xDC00, 0};
  EXPECT_EQ(dllmem_pair_safe_cut(s, 7, 7), 7u);
  EXPECT_EQ(dllmem_pair_safe_cut(s, 7, 2), 1u);  // cut between D800|DC00
  EXPECT_EQ(dllmem_pair_safe_cut(s, 7, 3), 3u);
  EXPECT_EQ(dllmem_pair_safe_cut(s, 7, 5), 5u);  // lone high surrogate stays
  EXPECT_EQ(dllmem_pair_safe_cut(s, 7, 6), 6u);  // lone low surrogate stays
  EXPECT_EQ(dllmem_pair_safe_cut(s, 7, 0), 0u);
}

}  // namespace
