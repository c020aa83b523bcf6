// The core's word-at-a-time NUL scan against a plain loop, for every start
// alignment, terminator position and bound, with every string ending right
// before a PROT_NONE page so an over-read across the page faults. Each block
// walk it chooses from (SSE2; AVX2 where the CPU has it) is run too.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

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

struct Walk {
  const char *name;
  size_t (*scan)(const dllmem_unit *, size_t);
  bool needs_some;  // a block walk: max > 0 (the dispatcher answers 0 itself)
};

std::vector<Walk> Walks() {
  std::vector<Walk> w = {{"dllmem_scan_nul", dllmem_scan_nul, false}};
#if defined(__SSE2__)
  w.push_back({"sse2", dllmem_scan_nul_sse2, true});
#if defined(DLLMEM_SCAN_AVX2)
  if (dllmem_scan_avx2_ok()) w.push_back({"avx2", dllmem_scan_nul_avx2, true});
#endif
#endif
  return w;
}

TEST(Scan, AgreesWithAPlainLoopForEveryAlignmentAndTerminator) {
  // Long enough to cross several 128-byte chunks before the terminator, which
  // sits at the page's end (byte 126 of its chunk); FindsTheFirstNulAmongSeveral
  // puts one at every offset of a chunk.
  for (size_t len = 0; len < 700; len++) {
    // The terminator is the buffer's last unit, right before the guard page;
    // the buffer's start therefore walks through every alignment.
    dllmem_unit *buf = shim_guard_alloc(len + 1);
    ASSERT_NE(buf, nullptr);
    for (size_t i = 0; i < len; i++) buf[i] = static_cast<dllmem_unit>(0x0100 + i);
    buf[len] = 0;
    for (const Walk &w : Walks()) {
      for (size_t max : {size_t{0}, size_t{1}, len / 2, len, len + 1, size_t{1} << 20}) {
        if (max == 0 && w.needs_some) continue;
        ASSERT_EQ(w.scan(buf, max), NaiveScan(buf, max))
            << w.name << ": len " << len << " max " << max;
      }
    }
    shim_guard_free(buf, len + 1);
  }
}

// Units with no terminator up to the end of a page (an unterminated buffer
// given with its length): each walk reads to s[max - 1] and no further, so a
// block or chunk read past the last unit needed faults on the guard page.
TEST(Scan, ARangeWithoutATerminatorIsReadToItsEndAndNoFurther) {
  for (size_t len = 1; len < 700; len++) {
    dllmem_unit *buf = shim_guard_alloc(len);  // 0xAAAA units, then PROT_NONE
    ASSERT_NE(buf, nullptr);
    for (const Walk &w : Walks()) {
      for (size_t max : {len, len - 1}) {
        if (max == 0 && w.needs_some) continue;
        ASSERT_EQ(w.scan(buf, max), max) << w.name << ": len " << len;
      }
    }
    shim_guard_free(buf, len);
  }
}

TEST(Scan, FindsTheFirstNulAmongSeveral) {
  std::vector<dllmem_unit> v(400, 'x');
  for (const Walk &w : Walks()) {
    for (size_t first = 0; first < 350; first++) {
      std::fill(v.begin(), v.end(), 'x');
      v[first] = 0;
      v[first + 7] = 0;
      v.back() = 0;
      for (size_t off = 0; off < 16; off++) {
        ASSERT_EQ(w.scan(v.data() + off, 390), NaiveScan(v.data() + off, 390))
            << w.name << ": first " << first << " off " << off;
      }
    }
  }
}

// A CPU with AVX2 runs the AVX2 walk, so the walks above must include it.
TEST(Scan, TheAvx2WalkIsTestedWhereTheCpuHasIt) {
  std::vector<std::string> names;
  for (const Walk &w : Walks()) names.push_back(w.name);
#if defined(DLLMEM_SCAN_AVX2)
  if (__builtin_cpu_supports("avx2")) {
    EXPECT_NE(std::find(names.begin(), names.end(), "avx2"), names.end());
  }
#endif
  EXPECT_GE(names.size(), 1u);
  for (const std::string &n : names) std::printf("block walk tested: %s\n", n.c_str());
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
  for (const Walk &w : Walks()) EXPECT_EQ(w.scan(v.data(), 100), 6u) << w.name;
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
