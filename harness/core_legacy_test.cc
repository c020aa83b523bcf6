// White-box tests of the core over a fake backend (harness/fake_backend.c):
// legacy mode, where the mapping is the original example's data area alone
// (no control block), is reached on Windows only, so here the fake backend
// hands the core such a mapping directly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "dllmem.h"
#include "entry.h"

extern "C" {
// seqlock.c's copies of a shared area (seqlock.h: its atomics are C only).
void dllmem_shared_put(dllmem_unit *area, uint32_t capacity, const dllmem_unit *src, size_t n);
void dllmem_shared_get(dllmem_unit *dst, const dllmem_unit *area, uint32_t capacity, size_t n);
dllmem_unit dllmem_shared_unit(const dllmem_unit *area, uint32_t capacity, size_t i);
// fake_backend.c: the legacy mapping the next attach gets (units, capacity).
dllmem_unit *fake_legacy_area(void);
size_t fake_legacy_capacity(void);
dllmem_status fake_store(const dllmem_unit *src, uint32_t n);
}

namespace {

class LegacyCore : public ::testing::Test {
 protected:
  void SetUp() override {
    dllmem_core_attach();
    ASSERT_EQ(dllmem_attach_status(), DLLMEM_OK) << dllmem_attach_reason();
  }
  void TearDown() override { dllmem_core_detach(); }
  dllmem_unit *area() { return fake_legacy_area(); }
};

TEST_F(LegacyCore, AttachesAndSaysItIsLegacy) {
  EXPECT_EQ(dllmem_attach_status(), DLLMEM_OK);
  dllmem_info info;
  ASSERT_EQ(dllmem_get_info(&info), DLLMEM_OK);
  EXPECT_EQ(info.layout_version, 0u);
  EXPECT_EQ(info.sequence, 0u);
  EXPECT_EQ(info.capacity, fake_legacy_capacity());
}

TEST_F(LegacyCore, SetWritesTheStringAtOffsetZeroAndTerminatesIt) {
  dllmem_unit s[] = {'a', 'b', 'c', 0};
  SetSharedMem(s);
  EXPECT_EQ(dllmem_last_status(), DLLMEM_OK);
  EXPECT_EQ(0, memcmp(area(), s, sizeof s));
  std::vector<dllmem_unit> big(fake_legacy_capacity() + 10, 'x');
  big.back() = 0;
  SetSharedMem(big.data());
  EXPECT_EQ(dllmem_last_status(), DLLMEM_TRUNCATED);
  EXPECT_EQ(area()[fake_legacy_capacity() - 1], 0);
}

TEST_F(LegacyCore, GetIsBoundedWhenTheAreaHoldsNoTerminator) {
  for (size_t i = 0; i < fake_legacy_capacity(); i++) area()[i] = 'q';  // a peer's bytes
  size_t full = 0;
  std::vector<dllmem_unit> out(fake_legacy_capacity() * 2, 0xAAAA);
  EXPECT_EQ(dllmem_get(out.data(), out.size(), &full), DLLMEM_OK);
  EXPECT_EQ(full, fake_legacy_capacity() - 1);
  EXPECT_EQ(out[full], 0);
  EXPECT_EQ(dllmem_get(nullptr, 0, &full), DLLMEM_OK);
}

TEST_F(LegacyCore, GetTruncatesWithoutSplittingAPair) {
  dllmem_unit s[] = {'a', 0xD83D, 0xDE00, 'b', 0};
  SetSharedMem(s);
  dllmem_unit out[2];
  size_t full = 0;
  EXPECT_EQ(dllmem_get(out, 2, &full), DLLMEM_TRUNCATED);  // room for 'a' only
  EXPECT_EQ(full, 4u);
  EXPECT_EQ(out[0], 'a');
  EXPECT_EQ(out[1], 0);
  dllmem_unit three[3];
  EXPECT_EQ(dllmem_get(three, 3, &full), DLLMEM_TRUNCATED);  // the pair would be cut
  EXPECT_EQ(three[1], 0);
  dllmem_unit whole[5];
  EXPECT_EQ(dllmem_get(whole, 5, &full), DLLMEM_OK);
  EXPECT_EQ(0, memcmp(whole, s, sizeof s));
}

// The copies keep to the area's access rule (seqlock.h): whole 64-bit words
// only before 4 * (capacity / 4), single units after, so none reads or writes
// past the area. Each area here is exactly capacity units on the heap, where
// AddressSanitizer sees any byte past it.
TEST(SharedArea, CopiesStayInsideAnAreaOfAnyCapacity) {
  for (uint32_t cap = 1; cap <= 9; cap++) {
    for (size_t n = 0; n < cap; n++) {  // every length, the area filled last
      SCOPED_TRACE("capacity " + std::to_string(cap) + ", " + std::to_string(n) + " units");
      auto *area = static_cast<dllmem_unit *>(malloc(cap * sizeof(dllmem_unit)));
      // Exactly n units, no terminator (as dllmem_set takes them).
      auto *src = static_cast<dllmem_unit *>(malloc(n > 0 ? n * sizeof(dllmem_unit) : 1));
      ASSERT_NE(area, nullptr);
      ASSERT_NE(src, nullptr);
      for (uint32_t i = 0; i < cap; i++) area[i] = 0xAAAA;  // not zero: the terminator shows
      for (size_t i = 0; i < n; i++) src[i] = static_cast<dllmem_unit>(0x41 + i);
      dllmem_shared_put(area, cap, src, n);
      for (size_t i = 0; i < n; i++) EXPECT_EQ(dllmem_shared_unit(area, cap, i), src[i]) << i;
      EXPECT_EQ(dllmem_shared_unit(area, cap, n), 0) << "terminator";
      std::vector<dllmem_unit> back(cap, 0xBBBB);
      dllmem_shared_get(back.data(), area, cap, n);
      EXPECT_TRUE(std::equal(src, src + n, back.begin()));
      free(src);
      free(area);
    }
  }
}

// The core asserts what it owns (debug builds): a store leaves room for the
// terminator. Release builds compile the assert out.
TEST_F(LegacyCore, StoreOfAWholeCapacityIsCaughtByTheCoresAssert) {
#ifdef NDEBUG
  GTEST_SKIP() << "asserts are compiled out (NDEBUG)";
#else
  std::vector<dllmem_unit> s(fake_legacy_capacity() + 1, 'x');
  const uint32_t cap = static_cast<uint32_t>(fake_legacy_capacity());
  EXPECT_DEATH(fake_store(s.data(), cap), "n < seg->capacity");
  EXPECT_EQ(fake_store(s.data(), cap - 1), DLLMEM_OK);  // the largest legal store
#endif
}

}  // namespace
