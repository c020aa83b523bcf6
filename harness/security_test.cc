// Security: owner-only objects, and objects that are not ours (another user's,
// the wrong kind, the wrong size, a foreign control block) are refused and
// left untouched — never crashed on, never silently reused.
#include "fixture.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace {

class Security : public LibraryTest {
 protected:
  // The test created a foreign object (every byte `fill`) under the name:
  // attaching must refuse it with `want`, and no call may change a byte of it.
  void RefuseForeignObject(unsigned char fill, dllmem_status want);
};

uint64_t MappingBytes(uint32_t data) { return shim_layout_of(data).mapping; }

// Every byte of the object (empty when it cannot be mapped), to prove a
// refused object was left exactly as it was.
std::vector<unsigned char> Snapshot(const std::string &name) {
  uint64_t size = 0;
  unsigned char *p = static_cast<unsigned char *>(shim_segment_map(name.c_str(), &size));
  if (!p) return {};
  std::vector<unsigned char> bytes(p, p + size);
  shim_segment_unmap(p, size);
  return bytes;
}

// True if every byte of the object still equals fill.
bool Untouched(const std::string &name, unsigned char fill) {
  uint64_t size = 0;
  unsigned char *p = static_cast<unsigned char *>(shim_segment_map(name.c_str(), &size));
  if (!p) return false;
  bool same = true;
  for (uint64_t i = 0; i < size && same; i++) same = p[i] == fill;
  shim_segment_unmap(p, size);
  return same;
}

// Writes through the library and checks it had no effect on the object.
void ExpectRefused(shim_lib &lib, dllmem_status want) {
  if (shim_lib_is_extended(&lib)) {
    EXPECT_EQ(lib.x_attach_status(), want) << lib.x_attach_reason();
    EXPECT_GT(strlen(lib.x_attach_reason()), 10u);
  }
  units s = make_units(100);
  lib.set(s.data());
  units buf(64, 0xAAAA);
  lib.get(buf.data(), 64);
  EXPECT_EQ(buf[0], 0) << "Get read through a refused object";
}

// Whether user nobody can open path for reading: a child drops to nobody and
// tries. A build tree under a 0700 directory is out of its reach, and a test
// whose dropped-privilege child must load the library cannot run there.
bool NobodyCanRead(const std::string &path, std::string *why) {
  struct passwd *pw = getpwnam("nobody");
  if (!pw) {
    *why = "there is no user nobody";
    return false;
  }
  uid_t uid = pw->pw_uid;
  gid_t gid = pw->pw_gid;
  pid_t pid = fork();
  if (pid < 0) {
    *why = std::string("fork: ") + strerror(errno);
    return false;
  }
  if (pid == 0) {
    if (setgid(gid) != 0 || setuid(uid) != 0) _exit(255);
    int fd = open(path.c_str(), O_RDONLY);
    _exit(fd < 0 ? (errno & 0x7f) : 0);
  }
  int st = 0;
  if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) {
    *why = "the probe as nobody did not finish";
    return false;
  }
  int code = WEXITSTATUS(st);
  if (code == 0) return true;
  *why = "user nobody cannot open " + path + " (" +
         (code == 255 ? std::string("cannot drop to nobody") : std::string(strerror(code))) +
         "): a directory on its path is closed to other users (0700?)";
  return false;
}

void Security::RefuseForeignObject(unsigned char fill, dllmem_status want) {
  expect_no_segment_ = false;  // the object is the test's own
  Load();
  ExpectRefused(lib_, want);
  Unload();
  EXPECT_TRUE(Untouched(name_, fill)) << "a refused object was written to";
}

TEST_F(Security, SegmentIsOwnerOnlyEvenUnderAPermissiveUmask) {
  mode_t old = umask(0);
  Load();
  umask(old);
  unsigned mode = 0;
  ASSERT_TRUE(shim_segment_stat(name_.c_str(), nullptr, &mode, nullptr));
  EXPECT_EQ(mode & 0777u, 0600u);
}

TEST_F(Security, SegmentIsOwnerOnlyEvenUnderARestrictiveUmask) {
  mode_t old = umask(0277);
  Load();
  umask(old);
  unsigned mode = 0;
  ASSERT_TRUE(shim_segment_stat(name_.c_str(), nullptr, &mode, nullptr));
  EXPECT_EQ(mode & 0777u, 0600u);
  SetUnits(widen("writable"));
  EXPECT_EQ(GetAll(), text("writable"));
}

TEST_F(Security, AnObjectOwnedByAnotherUserIsRefusedAndLeftAlone) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to create an object as another user";
  ASSERT_EQ(RunRole(name_, "nobody-create", {name_, std::to_string(MappingBytes(4096))}), 0);
  RefuseForeignObject('Z', DLLMEM_FOREIGN_OWNER);
  Load();  // again, for the reason: it names both owners
  if (HasExtendedApi()) {
    std::string why = lib_.x_attach_reason();
    EXPECT_NE(why.find("not by this user (uid " + std::to_string(geteuid()) + ")"),
              std::string::npos)
        << why;
  }
  Unload();
}

TEST_F(Security, AnObjectOfTheWrongSizeIsRefusedAndLeftAlone) {
  ASSERT_TRUE(shim_segment_create(name_.c_str(), 100, 'Q', 0600));
  RefuseForeignObject('Q', DLLMEM_SIZE_MISMATCH);
}

TEST_F(Security, AnObjectWithAForeignControlBlockIsRefusedAndLeftAlone) {
  ASSERT_TRUE(shim_segment_create(name_.c_str(), MappingBytes(4096), 'M', 0600));
  RefuseForeignObject('M', DLLMEM_BAD_CONTROL_BLOCK);
}

TEST_F(Security, AFifoSquattingOnTheNameIsRefused) {
  std::string path = "/dev/shm/" + name_;
  ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
  expect_no_segment_ = false;  // the object is the test's own
  Load();                      // must not block opening the FIFO
  ExpectRefused(lib_, DLLMEM_WRONG_KIND);
}

TEST_F(Security, ASecondAttacherWithAnotherSizeIsRefused) {
  Load();
  SetUnits(widen("sized"));
  std::string size = "DLLMEM_SIZE=8192", out;
  EXPECT_EQ(RunRole(name_, "get", {g_library}, 10000, &out, {size}), 0);
  EXPECT_EQ(out, "\n") << "a process with another DLLMEM_SIZE read the segment";
  EXPECT_EQ(RunRole(name_, "set", {g_library, "resized"}, 10000, nullptr, {size}), 0);
  EXPECT_EQ(GetAll(), text("sized")) << "a process with another DLLMEM_SIZE wrote the segment";
}

// A dllmem block this build does not speak, or whose size field disagrees with
// the object: refused, left untouched.
void WriteBlock(const std::string &name, uint16_t version, uint32_t data_field) {
  uint64_t size = 0;
  unsigned char *p = static_cast<unsigned char *>(shim_segment_map(name.c_str(), &size));
  ASSERT_NE(p, nullptr);
  shim_layout l = shim_layout_of(DLLMEM_DEFAULT_SIZE);
  shim_layout_put_header(p, &l, l.magic, version, data_field);
  shim_segment_unmap(p, size);
}

TEST_F(Security, AnotherLayoutVersionIsRefusedAndLeftAlone) {
  ASSERT_TRUE(shim_segment_create(name_.c_str(), MappingBytes(4096), 'V', 0600));
  WriteBlock(name_, 2, 4096);
  std::vector<unsigned char> before = Snapshot(name_);
  expect_no_segment_ = false;
  Load();
  ExpectRefused(lib_, DLLMEM_BAD_CONTROL_BLOCK);
  if (HasExtendedApi()) {
    EXPECT_NE(std::string(lib_.x_attach_reason()).find("layout version 2"), std::string::npos);
  }
  Unload();
  EXPECT_TRUE(Snapshot(name_) == before) << "a refused object was written to";
}

TEST_F(Security, ABlockWhoseSizeFieldDisagreesIsRefused) {
  ASSERT_TRUE(shim_segment_create(name_.c_str(), MappingBytes(4096), 'F', 0600));
  WriteBlock(name_, 1, 8192);
  std::vector<unsigned char> before = Snapshot(name_);
  expect_no_segment_ = false;
  Load();
  ExpectRefused(lib_, DLLMEM_SIZE_MISMATCH);
  if (HasExtendedApi()) {
    EXPECT_NE(std::string(lib_.x_attach_reason()).find("8192"), std::string::npos);
  }
  Unload();
  EXPECT_TRUE(Snapshot(name_) == before) << "a refused object was written to";
}

// Every process died without detaching, and the object was left readable by
// others: the next attacher resets it, to an empty string and owner-only.
TEST_F(Security, AnAbandonedObjectLeftReadableByOthersIsResetToOwnerOnly) {
  std::string env = EnvName();
  const char *envp[] = {env.c_str(), nullptr};
  const char *args[] = {g_library.c_str(), "abandoned", nullptr};
  shim_child holder;
  ASSERT_TRUE(shim_spawn_role(&holder, "hold", args, envp));
  char line[32];
  ASSERT_TRUE(shim_child_read_line(&holder, 10000, line, sizeof line));
  shim_child_kill(&holder, SIGKILL);
  EXPECT_EQ(shim_child_wait(&holder, 10000, nullptr, 0), 128 + SIGKILL);
  std::string path = "/dev/shm/" + name_;
  ASSERT_EQ(chmod(path.c_str(), 0644), 0) << "the killed holder left no object";
  Load();
  unsigned mode = 0;
  ASSERT_TRUE(shim_segment_stat(name_.c_str(), nullptr, &mode, nullptr));
  EXPECT_EQ(mode & 0777u, 0600u) << "the reset left the object readable by others";
  EXPECT_TRUE(GetAll().empty()) << "the abandoned string survived the reset";
  SetUnits(widen("reset"));
  EXPECT_EQ(GetAll(), text("reset"));
}

// Changing a live segment under its holders makes new attachers refuse it.
class HeldSegment : public Security {
 protected:
  void HoldIt() {
    std::string env = EnvName();
    const char *envp[] = {env.c_str(), nullptr};
    const char *args[] = {g_library.c_str(), "held", nullptr};
    ASSERT_TRUE(shim_spawn_role(&holder_, "hold", args, envp));
    char line[32];
    ASSERT_TRUE(shim_child_read_line(&holder_, 10000, line, sizeof line));
  }
  void Release() {
    shim_child_kill(&holder_, SIGTERM);
    shim_child_wait(&holder_, 10000, nullptr, 0);
  }
  shim_child holder_{};
};

TEST_F(HeldSegment, MadeReadableByOthersItIsRefusedToNewAttachers) {
  HoldIt();
  std::string path = "/dev/shm/" + name_;
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  std::vector<unsigned char> before = Snapshot(name_);
  Load();
  ExpectRefused(lib_, DLLMEM_INSECURE);  // "read through a refused object" if it reads "held"
  if (HasExtendedApi()) {
    std::string why = lib_.x_attach_reason();
    EXPECT_NE(why.find("has mode 0644"), std::string::npos) << why;
  }
  Unload();
  EXPECT_TRUE(Snapshot(name_) == before) << "a refused segment was written to";
  Release();
}

TEST_F(HeldSegment, ResizedUnderItsHolderItIsRefused) {
  HoldIt();
  std::string path = "/dev/shm/" + name_;
  ASSERT_EQ(truncate(path.c_str(), 1001), 0);
  std::vector<unsigned char> before = Snapshot(name_);
  Load();
  ExpectRefused(lib_, DLLMEM_SIZE_MISMATCH);
  Unload();
  EXPECT_TRUE(Snapshot(name_) == before) << "a refused segment was written to";
  Release();
  expect_no_segment_ = false;  // the holder cannot remove what the test broke
}

TEST_F(Security, ASymlinkSquattingTheNameIsRefused) {
  std::string path = "/dev/shm/" + name_;
  ASSERT_EQ(symlink("/etc/passwd", path.c_str()), 0);
  expect_no_segment_ = false;  // the link is the test's own
  Load();
  ExpectRefused(lib_, DLLMEM_WRONG_KIND);
}

TEST_F(Security, AnotherUsersObjectThatCannotBeOpenedIsNamedAsSuch) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to run an attacher as another user";
  std::string why;
  if (!NobodyCanRead(g_library, &why))
    GTEST_SKIP() << "the attacher, dropped to user nobody, cannot load the library: " << why;
  Load();  // root's 0600 object
  SetUnits(widen("root's"));
  std::string out;
  ASSERT_EQ(RunRole(name_, "nobody-attach", {g_library}, 10000, &out), 0);
  if (HasExtendedApi()) {
    EXPECT_EQ(out, "DLLMEM_FOREIGN_OWNER\n");
  }
  EXPECT_EQ(GetAll(), text("root's")) << "another user's process changed the string";
}

}  // namespace
