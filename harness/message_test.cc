// The instruments' self-checking messages (harness/shim/shim_msg.c): what
// every torn-read verdict of the suites and the stress runner rests on.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "shim.h"
#include "shim_rand.h"

namespace {

std::vector<dllmem_unit> Make(size_t len, uint32_t writer, uint32_t seq) {
  std::vector<dllmem_unit> m(len + 1, 0xFFFF);
  shim_msg_make(m.data(), len, writer, seq);
  return m;
}

bool IsHigh(dllmem_unit u) { return (u & 0xFC00u) == 0xD800u; }
bool IsLow(dllmem_unit u) { return (u & 0xFC00u) == 0xDC00u; }

const size_t kLengths[] = {
    SHIM_MSG_HEADER, SHIM_MSG_HEADER + 1, SHIM_MSG_HEADER + 2, 64, 257, 1000, 2047};

TEST(Messages, EachIsValidTerminatedAndHasNoNulOrLoneSurrogate) {
  for (size_t len : kLengths) {
    for (uint32_t seq = 0; seq < 50; seq++) {
      std::vector<dllmem_unit> m = Make(len, seq % 7, seq);
      ASSERT_EQ(m[len], 0) << "len " << len;
      ASSERT_TRUE(shim_msg_valid(m.data(), len)) << "len " << len << " seq " << seq;
      size_t n = 0;
      ASSERT_EQ(shim_msg_classify(m.data(), len + 1, &n), SHIM_READ_MESSAGE);
      ASSERT_EQ(n, len);
      uint32_t w = 0, s = 0;
      ASSERT_EQ(shim_msg_read(m.data(), len + 1, &n, &w, &s), SHIM_READ_MESSAGE);
      ASSERT_EQ(w, seq % 7);
      ASSERT_EQ(s, seq);
      for (size_t i = 0; i < len; i++) {
        ASSERT_NE(m[i], 0) << "NUL at " << i;
        if (IsHigh(m[i])) {
          ASSERT_TRUE(i + 1 < len && IsLow(m[i + 1])) << "lone high surrogate at " << i;
          i++;
        } else {
          ASSERT_FALSE(IsLow(m[i])) << "lone low surrogate at " << i;
        }
      }
    }
  }
}

// Surrogate pairs start at both parities, so cuts meet them at every offset.
TEST(Messages, SurrogatePairsStartAtBothParities) {
  bool seen[2] = {false, false};
  for (uint32_t seq = 0; seq < 50; seq++) {
    std::vector<dllmem_unit> m = Make(500, 1, seq);
    for (size_t i = 0; i < 500; i++)
      if (IsHigh(m[i])) seen[i % 2] = true;
  }
  EXPECT_TRUE(seen[0] && seen[1]);
}

// Any mix of two messages of one length, as a torn read would make it (one
// cut, or word-sized pieces from either), is not a valid message unless it
// is one of the two.
TEST(Messages, AnyMixOfTwoFailsTheCheck) {
  long mixes = 0;
  uint32_t rng = 12345;
  for (size_t len : kLengths) {
    for (uint32_t k = 0; k < 6; k++) {
      std::vector<dllmem_unit> a = Make(len, k % 2, 2 * k), b = Make(len, 1 + k % 3, 2 * k + 1);
      std::vector<dllmem_unit> mix(len + 1, 0);
      auto check = [&](const char *how, size_t at) {
        if (std::equal(mix.begin(), mix.end(), a.begin()) ||
            std::equal(mix.begin(), mix.end(), b.begin()))
          return;
        mixes++;
        ASSERT_FALSE(shim_msg_valid(mix.data(), len)) << how << " at " << at << ", len " << len;
      };
      for (size_t cut = 1; cut < len; cut++) {
        for (size_t i = 0; i <= len; i++) mix[i] = i < cut ? a[i] : b[i];
        check("cut", cut);
        for (size_t i = 0; i <= len; i++) mix[i] = i < cut ? b[i] : a[i];
        check("cut (other way)", cut);
      }
      for (int round = 0; round < 200; round++) {
        for (size_t w = 0; 4 * w < len; w++) {
          bool from_a = (shim_rand(&rng) & 1u) != 0;
          for (size_t i = 4 * w; i < 4 * w + 4 && i < len; i++) mix[i] = from_a ? a[i] : b[i];
        }
        mix[len] = 0;
        check("word mix", static_cast<size_t>(round));
      }
    }
  }
  EXPECT_GT(mixes, 10000);
}

// Bodies are windows on a writer's pool (shim_msg.c): a writer's messages,
// and two writers' messages, must still differ at nearly every unit, or a
// read torn between them could pass as one of the two.
TEST(Messages, BodiesDifferAtNearlyEveryUnit) {
  const size_t len = 2047;
  auto same_units = [&](const std::vector<dllmem_unit> &a, const std::vector<dllmem_unit> &b) {
    size_t same = 0;
    for (size_t i = SHIM_MSG_HEADER; i < len; i++) same += a[i] == b[i];
    return same;
  };
  size_t worst = 0;
  for (uint32_t seq = 0; seq < 300; seq++) {
    std::vector<dllmem_unit> a = Make(len, 5, seq);
    for (uint32_t next : {seq + 1, seq + 2, seq + 97, seq + 4098, seq + 4099, seq + 2 * 4099}) {
      worst = std::max(worst, same_units(a, Make(len, 5, next)));
    }
    worst = std::max(worst, same_units(a, Make(len, 6, seq)));
  }
  // Random units agree about once in 30,000; allow a few per message.
  EXPECT_LE(worst, 8u) << "of " << len - SHIM_MSG_HEADER << " body units";
}

// The checksum's steps mix each input into the whole lane: changes confined
// to the top bits of units in one lane (a multiply alone carries them only
// upward, where two can cancel) still fail the check.
TEST(Messages, TwoChangedUnitsInOneLaneFailTheCheck) {
  const size_t len = 2047;
  std::vector<dllmem_unit> m = Make(len, 5, 7);
  long tried = 0;
  for (size_t i = SHIM_MSG_HEADER; i + 8 < len; i += 3) {
    for (unsigned bits : {0x8000u, 0x4000u, 0x0001u, 0x8001u}) {
      std::vector<dllmem_unit> x = m;
      x[i] = static_cast<dllmem_unit>(x[i] ^ bits);
      x[i + 8] = static_cast<dllmem_unit>(x[i + 8] ^ bits);  // same lane, same half
      if (x[i] == 0 || x[i + 8] == 0) continue;
      tried++;
      ASSERT_FALSE(shim_msg_valid(x.data(), len))
          << "units " << i << " and " << i + 8 << " ^ " << bits;
    }
  }
  EXPECT_GT(tried, 2000);
}

}  // namespace
