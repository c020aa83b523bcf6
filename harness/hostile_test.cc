// A hostile or buggy peer writes raw bytes into the mapping. Whatever it
// writes, Get and Set stay inside the caller's buffer and the mapping, return
// promptly, and a fresh attach either works or refuses with a reason.
#include "fixture.h"

namespace {

using HostileSegment = LibraryTest;

void Scribble(const std::string &name, const char *mode) {
  ASSERT_EQ(RunRole(name, "scribble", {name, mode, "4096"}), 0);
}

TEST_F(HostileSegment, DataWithoutATerminatorIsReadWithinBounds) {
  Load();
  SetUnits(make_units(10));
  Scribble(name_, "noterm");
  for (uint32_t cch : {1u, 2u, 100u, 2048u, 4096u}) {
    dllmem_unit *out = shim_guard_alloc(cch);
    lib_.get(out, cch);
    EXPECT_LT(shim_ulen(out), cch);
    shim_guard_free(out, cch);
  }
  units s = make_units(20);
  SetUnits(s);
  EXPECT_EQ(GetAll(), units(s.begin(), s.end() - 1));
}

TEST_F(HostileSegment, HugeLengthsInTheControlBlockAreClamped) {
  Load();
  Scribble(name_, "hugelen");
  for (uint32_t cch : {1u, 7u, 2048u, 4096u}) {
    dllmem_unit *out = shim_guard_alloc(cch);
    lib_.get(out, cch);
    EXPECT_LT(shim_ulen(out), std::min<size_t>(cch, Capacity()));
    shim_guard_free(out, cch);
  }
  units s = make_units(30);
  SetUnits(s);  // must take over the garbage lock word and repair
  EXPECT_EQ(GetAll(), units(s.begin(), s.end() - 1));
}

TEST_F(HostileSegment, GarbageEverywhereNeitherCrashesNorHangs) {
  Load();
  Scribble(name_, "garbage");
  for (uint32_t cch : {0u, 1u, 64u, 2048u, 8192u}) {
    dllmem_unit *out = shim_guard_alloc(cch);
    lib_.get(out, cch);
    if (cch > 0) {
      EXPECT_LT(shim_ulen(out), std::min<size_t>(cch, Capacity()));
    }
    shim_guard_free(out, cch);
  }
  units s = make_units(40);
  SetUnits(s);
  units got = GetAll(8192);
  EXPECT_LT(got.size(), Capacity());
}

TEST_F(HostileSegment, AFreshAttachRefusesACorruptedControlBlock) {
  Load();
  Scribble(name_, "garbage");
  std::string out;
  // A second process attaching now must refuse: another process is attached,
  // so the segment is not abandoned, and its block is not valid.
  RunRole(name_, "get", {g_library}, 30000, &out);
  EXPECT_EQ(out, "\n") << "the child read through a corrupted segment";
}

}  // namespace
