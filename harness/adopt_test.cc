// White-box tests of dllmem_adopt (dll/src/adopt.c) over plain buffers, one
// or more per row of its decision table in docs/layout.md. "paged" rows are
// the Windows backend's (a view of whole pages, a size record at its end),
// "exact" rows the POSIX backend's (the object's exact size).
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "adopt_probe.h"

namespace {

constexpr uint64_t kPage = 4096;

// An object's bytes, 8-byte aligned as a mapping is.
class Object {
 public:
  explicit Object(uint64_t bytes) : words_((bytes + 7) / 8 + 1, 0), bytes_(bytes) {}
  unsigned char *p() { return reinterpret_cast<unsigned char *>(words_.data()); }
  uint64_t bytes() const { return bytes_; }
  std::vector<unsigned char> Copy() { return {p(), p() + bytes_}; }
  void Put32(uint64_t at, uint32_t v) { memcpy(p() + at, &v, 4); }
  void Put16(uint64_t at, uint16_t v) { memcpy(p() + at, &v, 2); }
  void PutText(const char *s) {  // UTF-16LE at offset 0, as the example keeps it
    for (size_t i = 0; s[i]; i++) Put16(2 * i, static_cast<uint16_t>(s[i]));
  }
  // The 16-byte size record at the end, written from docs/layout.md, not layout.h.
  void PutRecord(uint32_t data_bytes, uint32_t magic = 0x534d4c44u, uint32_t reserved = 0) {
    uint64_t at = bytes_ - 16;
    Put32(at, magic);
    Put16(at + 4, 1);
    Put16(at + 6, 16);
    Put32(at + 8, data_bytes);
    Put32(at + 12, reserved);
  }

 private:
  std::vector<uint64_t> words_;
  uint64_t bytes_;
};

adopt_probe Adopt(Object &o, const char *role, uint64_t page, uint32_t data_bytes) {
  adopt_probe r;
  adopt_probe_run(o.p(), o.bytes(), role, page, data_bytes, &r);
  return r;
}

// A segment a creator of data_bytes made: paged (page > 0) or exact.
Object Made(uint32_t data_bytes, uint64_t page, const char *text = "hello") {
  Object o(adopt_probe_object_bytes(data_bytes, page));
  adopt_probe r = Adopt(o, "created", page, data_bytes);
  EXPECT_STREQ(r.verdict, "use") << r.reason;
  o.PutText(text);
  return o;
}

// Refused with `status`, not bound, and not one byte changed.
void ExpectRefusedUntouched(Object &o, const char *role, uint64_t page, uint32_t data_bytes,
                            dllmem_status status) {
  std::vector<unsigned char> before = o.Copy();
  adopt_probe r = Adopt(o, role, page, data_bytes);
  EXPECT_STREQ(r.verdict, "refuse") << "DLLMEM_SIZE=" << data_bytes << ": " << r.reason;
  EXPECT_EQ(r.refusal, status) << "DLLMEM_SIZE=" << data_bytes << ": " << r.reason;
  EXPECT_FALSE(r.bound);
  EXPECT_NE(std::string(r.reason), "") << "a refusal must say why";
  EXPECT_TRUE(o.Copy() == before) << "DLLMEM_SIZE=" << data_bytes << " changed the object";
}

// The given verdict, not bound, and not one byte changed.
void ExpectVerdictUntouched(Object &o, const char *role, uint64_t page, uint32_t data_bytes,
                            const char *verdict) {
  std::vector<unsigned char> before = o.Copy();
  adopt_probe r = Adopt(o, role, page, data_bytes);
  EXPECT_STREQ(r.verdict, verdict) << "DLLMEM_SIZE=" << data_bytes << ": " << r.reason;
  EXPECT_FALSE(r.bound);
  EXPECT_TRUE(o.Copy() == before) << "DLLMEM_SIZE=" << data_bytes << " changed the object";
}

// ---- created --------------------------------------------------------------------

TEST(Adopt, CreatedPagedWritesTheBlockAndTheSizeRecordAndNothingElse) {
  Object o(3 * kPage);  // 4096 + 128 + 4096 + a record, in pages
  ASSERT_EQ(adopt_probe_object_bytes(4096, kPage), o.bytes());
  adopt_probe r = Adopt(o, "created", kPage, 4096);
  ASSERT_STREQ(r.verdict, "use") << r.reason;
  EXPECT_TRUE(r.bound);
  EXPECT_FALSE(r.legacy);
  EXPECT_EQ(r.capacity, 2048u);
  EXPECT_EQ(r.ctl_offset, 4096u);
  Object want(3 * kPage);
  want.PutRecord(4096);
  want.Put32(4096, 0x4d4d4c44u);  // "DLMM"
  want.Put16(4096 + 4, 1);
  want.Put16(4096 + 6, 128);
  want.Put32(4096 + 8, 4096);
  EXPECT_TRUE(o.Copy() == want.Copy()) << "created bytes differ from docs/layout.md";
}

TEST(Adopt, CreatedExactHasNoRecord) {
  Object o(4096 + 128 + 4096);
  adopt_probe r = Adopt(o, "created", 0, 4096);
  ASSERT_STREQ(r.verdict, "use") << r.reason;
  EXPECT_EQ(r.ctl_offset, 4096u);
  for (uint64_t i = o.bytes() - 16; i < o.bytes(); i++) EXPECT_EQ(o.p()[i], 0) << i;
}

TEST(Adopt, CreatedOfAnotherSizeThanAskedIsRefused) {
  Object paged(2 * kPage);
  ExpectRefusedUntouched(paged, "created", kPage, 4096, DLLMEM_OS_ERROR);
  Object exact(8192);
  ExpectRefusedUntouched(exact, "created", 0, 4096, DLLMEM_OS_ERROR);
}

TEST(Adopt, NoMappingForABytesCountIsRefused) {
  adopt_probe r;
  adopt_probe_run(nullptr, 8320, "joining", 0, 4096, &r);
  EXPECT_STREQ(r.verdict, "refuse");
  EXPECT_EQ(r.refusal, DLLMEM_OS_ERROR);
}

// ---- joining, paged (Windows) ------------------------------------------------------

TEST(Adopt, JoiningPagedWithTheCreatorsSizeUsesIt) {
  Object o = Made(4096, kPage);
  std::vector<unsigned char> before = o.Copy();
  adopt_probe r = Adopt(o, "joining", kPage, 4096);
  ASSERT_STREQ(r.verdict, "use") << r.reason;
  EXPECT_EQ(r.ctl_offset, 4096u);
  EXPECT_FALSE(r.legacy);
  EXPECT_TRUE(o.Copy() == before);
}

// Issue #11, defect 3: every other size is refused, whether its own block
// would fall in the creator's data (2048), the same pages (5000, 4094, 4098)
// or a legacy-looking round-up of the view (10000, 12288).
TEST(Adopt, JoiningPagedWithAnotherSizeIsRefusedUntouched) {
  Object o = Made(4096, kPage);
  for (uint32_t d : {2048u, 4094u, 4098u, 5000u, 10000u, 12288u, 64u}) {
    ExpectRefusedUntouched(o, "joining", kPage, d, DLLMEM_SIZE_MISMATCH);
  }
  adopt_probe r = Adopt(o, "joining", kPage, 2048);
  EXPECT_NE(std::string(r.reason).find("holds 4096 data bytes"), std::string::npos) << r.reason;
}

// round_up(12288, page) is the view's size, as for a legacy mapping: the size
// record says it is a dllmem segment of 4096, so it is not taken as legacy.
TEST(Adopt, AViewOfRoundUpOfTheSizeWithARecordIsNotLegacy) {
  Object o = Made(4096, kPage);
  ASSERT_EQ(o.bytes(), 12288u);
  ExpectRefusedUntouched(o, "joining", kPage, 12288, DLLMEM_SIZE_MISMATCH);
}

TEST(Adopt, TheOriginalExamplesMappingIsLegacy) {
  Object o(kPage);  // CreateFileMapping(..., 4096): data only
  o.PutText("This is a test string");
  std::vector<unsigned char> before = o.Copy();
  adopt_probe r = Adopt(o, "joining", kPage, 4096);
  ASSERT_STREQ(r.verdict, "use") << r.reason;
  EXPECT_TRUE(r.legacy);
  EXPECT_EQ(r.capacity, 2048u);
  EXPECT_TRUE(o.Copy() == before);
  r = Adopt(o, "joining", kPage, 2048);  // round_up(2048, page) is one page too
  ASSERT_STREQ(r.verdict, "use") << r.reason;
  EXPECT_TRUE(r.legacy);
  EXPECT_EQ(r.capacity, 1024u);
  ExpectRefusedUntouched(o, "joining", kPage, 4098, DLLMEM_SIZE_MISMATCH);  // needs two pages
}

// Our size in pages, no record, an unfinished block: its initializer died
// before writing either (only a process outside dllmem can keep such a
// mapping alive on Windows).
TEST(Adopt, JoiningPagedOurSizeWithoutARecordAndAnUnfinishedBlockRetries) {
  Object o(adopt_probe_object_bytes(4096, kPage));
  ExpectVerdictUntouched(o, "joining", kPage, 4096, "retry");
}

TEST(Adopt, JoiningPagedOurSizeWithoutARecordAndSomeBlockIsRefused) {
  Object o = Made(4096, kPage);
  o.Put32(o.bytes() - 16, 0);  // record gone, block intact
  ExpectRefusedUntouched(o, "joining", kPage, 4096, DLLMEM_SIZE_MISMATCH);
}

TEST(Adopt, JoiningPagedWithARecordAndAnUnfinishedBlockRetries) {
  Object o(adopt_probe_object_bytes(4096, kPage));
  o.PutRecord(4096);  // written before the block, which never got its magic
  o.Put16(4096 + 4, 1);
  o.Put16(4096 + 6, 128);
  ExpectVerdictUntouched(o, "joining", kPage, 4096, "retry");
  // Windows cannot go round (a process outside dllmem keeps it open) and
  // gives this reason to the caller.
  adopt_probe r = Adopt(o, "joining", kPage, 4096);
  EXPECT_NE(std::string(r.reason).find("never fully initialized"), std::string::npos) << r.reason;
}

TEST(Adopt, JoiningPagedWithARecordAndAForeignBlockIsRefused) {
  Object o = Made(4096, kPage);
  o.Put32(4096, 0x58585858u);  // magic "XXXX"
  ExpectRefusedUntouched(o, "joining", kPage, 4096, DLLMEM_BAD_CONTROL_BLOCK);
  Object v = Made(4096, kPage);
  v.Put16(4096 + 4, 2);  // layout version 2
  ExpectRefusedUntouched(v, "joining", kPage, 4096, DLLMEM_BAD_CONTROL_BLOCK);
}

// A record that is not whole, or disagrees with the view it ends, is no
// record: the block behind it is then not trusted either.
TEST(Adopt, ARecordThatDoesNotHoldTogetherIsNoRecord) {
  struct Case {
    const char *what;
    uint32_t data_bytes, magic, reserved;
  } cases[] = {
      {"wrong magic", 4096, 0x534d4c45u, 0},    {"reserved set", 4096, 0x534d4c44u, 1},
      {"odd size", 4095, 0x534d4c44u, 0},       {"too small", 62, 0x534d4c44u, 0},
      {"too big", 0x40000002u, 0x534d4c44u, 0}, {"another view", 2048, 0x534d4c44u, 0},
  };
  for (const Case &c : cases) {
    Object o = Made(4096, kPage);
    o.PutRecord(c.data_bytes, c.magic, c.reserved);
    SCOPED_TRACE(c.what);
    ExpectRefusedUntouched(o, "joining", kPage, 4096, DLLMEM_SIZE_MISMATCH);
  }
}

// On a one-page view (DLLMEM_SIZE=64: the example's mapping is one page too)
// a record that does not hold together is no record, so the view is the
// example's mapping: legacy, not refused for the size the record claims.
TEST(Adopt, OnAOnePageViewARecordThatDoesNotHoldTogetherMeansTheExamplesMapping) {
  struct Case {
    const char *what;
    uint32_t data_bytes, magic, reserved;
  } cases[] = {
      {"wrong magic", 64, 0x534d4c45u, 0},      {"reserved set", 64, 0x534d4c44u, 1},
      {"odd size", 65, 0x534d4c44u, 0},         {"too small", 62, 0x534d4c44u, 0},
      {"too big", 0x40000002u, 0x534d4c44u, 0},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.what);
    Object o(kPage);
    ASSERT_EQ(adopt_probe_object_bytes(64, kPage), kPage);
    o.PutRecord(c.data_bytes, c.magic, c.reserved);
    adopt_probe r = Adopt(o, "joining", kPage, 64);
    EXPECT_STREQ(r.verdict, "use") << r.reason;
    EXPECT_TRUE(r.legacy) << r.reason;
  }
}

// ---- joining, exact (POSIX) ----------------------------------------------------------

TEST(Adopt, JoiningExactWithTheCreatorsSizeUsesIt) {
  Object o = Made(4096, 0);
  adopt_probe r = Adopt(o, "joining", 0, 4096);
  ASSERT_STREQ(r.verdict, "use") << r.reason;
  EXPECT_EQ(r.ctl_offset, 4096u);
}

TEST(Adopt, JoiningExactWithAnotherSizeIsRefusedUntouched) {
  Object o = Made(2048, 0);
  ExpectRefusedUntouched(o, "joining", 0, 4096, DLLMEM_SIZE_MISMATCH);
  adopt_probe r = Adopt(o, "joining", 0, 4096);
  EXPECT_NE(std::string(r.reason).find("holds 2048 data bytes"), std::string::npos) << r.reason;
  Object odd(5000);  // no dllmem segment is 5000 bytes
  ExpectRefusedUntouched(odd, "joining", 0, 4096, DLLMEM_SIZE_MISMATCH);
  Object page(kPage);  // exact sizes know no legacy mappings: this is D = 1984's size
  ExpectRefusedUntouched(page, "joining", 0, 4096, DLLMEM_SIZE_MISMATCH);
}

TEST(Adopt, JoiningAnEmptyObjectRetries) {
  adopt_probe r;
  adopt_probe_run(nullptr, 0, "joining", 0, 4096, &r);
  EXPECT_STREQ(r.verdict, "retry") << r.reason;
  EXPECT_FALSE(r.bound);
}

TEST(Adopt, JoiningExactWithAnUnfinishedBlockRetries) {
  Object o(4096 + 128 + 4096);
  ExpectVerdictUntouched(o, "joining", 0, 4096, "retry");
}

TEST(Adopt, JoiningExactWithAForeignBlockIsRefused) {
  Object o = Made(4096, 0);
  o.Put32(4096, 0x58585858u);
  ExpectRefusedUntouched(o, "joining", 0, 4096, DLLMEM_BAD_CONTROL_BLOCK);
  Object d = Made(4096, 0);
  d.Put32(4096 + 8, 4094);  // a block naming another size
  ExpectRefusedUntouched(d, "joining", 0, 4096, DLLMEM_SIZE_MISMATCH);
}

// A block without its magic is an unfinished one of ours only while every
// other field is zero or what initialization writes: one field that is
// neither makes it someone else's (refused, never retried or reset).
TEST(Adopt, AMagiclessBlockWithAnyFieldOfItsOwnIsNotOurs) {
  struct Case {
    const char *field;
    uint64_t at;  // offset in the control block (docs/layout.md)
    uint32_t value;
    int width;
  } cases[] = {
      {"layout version", 4, 7, 2},
      {"block size", 6, 64, 2},
      {"data size", 8, 1000, 4},
      {"reserved0", 12, 1, 4},
      {"seq", 16, 2, 4},
      {"len_d", 20, 3, 4},
      {"len_s", 24, 3, 4},
      {"writer", 28, 5, 4},
      {"first reserved byte", 32, 1, 1},
      {"last reserved byte", 127, 0x80, 1},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.field);
    for (const char *role : {"joining", "alone"}) {
      Object o(4096 + 128 + 4096);
      const uint64_t at = 4096 + c.at;
      if (c.width == 4) o.Put32(at, c.value);
      if (c.width == 2) o.Put16(at, static_cast<uint16_t>(c.value));
      if (c.width == 1) o.p()[at] = static_cast<unsigned char>(c.value);
      ExpectRefusedUntouched(o, role, 0, 4096, DLLMEM_BAD_CONTROL_BLOCK);
    }
  }
}

// ---- alone (POSIX: nobody else attached) ---------------------------------------------

TEST(Adopt, AloneWithAnySegmentOfOursResetsIt) {
  Object same = Made(4096, 0);
  ExpectVerdictUntouched(same, "alone", 0, 4096, "init");
  Object other = Made(2048, 0);  // left by a run with another DLLMEM_SIZE
  ExpectVerdictUntouched(other, "alone", 0, 4096, "init");
  Object unfinished(2048 + 128 + 2048);
  ExpectVerdictUntouched(unfinished, "alone", 0, 4096, "init");
  adopt_probe r;
  adopt_probe_run(nullptr, 0, "alone", 0, 4096, &r);
  EXPECT_STREQ(r.verdict, "init") << r.reason;
}

TEST(Adopt, AloneWithSomethingElseRefusesIt) {
  Object foreign = Made(4096, 0);
  foreign.Put32(4096, 0x58585858u);
  ExpectRefusedUntouched(foreign, "alone", 0, 4096, DLLMEM_BAD_CONTROL_BLOCK);
  Object odd(5000);
  ExpectRefusedUntouched(odd, "alone", 0, 4096, DLLMEM_SIZE_MISMATCH);
}

TEST(Adopt, AloneNeedsAnExactSize) {
  Object o = Made(4096, kPage);
  ExpectRefusedUntouched(o, "alone", kPage, 4096, DLLMEM_OS_ERROR);
}

}  // namespace
