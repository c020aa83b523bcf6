// The example's scenario: a parent stores a string, a child process reads it.
#include "fixture.h"

namespace {

using Example = LibraryTest;

TEST_F(Example, AChildReadsWhatItsParentWrote) {
  Load();
  SetUnits(widen("This is a test string"));
  std::string out;
  ASSERT_EQ(RunRole(name_, "get", {g_library}, 10000, &out), 0);
  EXPECT_EQ(out, "This is a test string\n");
}

TEST_F(Example, AChildsStringOutlivesTheChildWhileTheParentIsAttached) {
  Load();
  ASSERT_EQ(RunRole(name_, "set", {g_library, "from the child"}), 0);
  EXPECT_EQ(GetAll(), text("from the child"));
}

}  // namespace
