// The isolated runner (`--isolate`): every test runs in its own child process,
// this binary re-executed with --gtest_filter=<one test>, as libuv's runner
// does. A crash or a hang is that test's failure, with the signal or the
// timeout named, and the run goes on. Tests are listed with GoogleTest's own
// --gtest_list_tests; GTEST_TOTAL_SHARDS/GTEST_SHARD_INDEX select this shard's
// tests by GoogleTest's rule (the i-th listed test runs in shard i % N), and
// the children run unsharded. --gtest_output=xml:FILE gets JUnit XML for the
// whole run, crashes and timeouts included.
//
// Exit: 0 every selected test passed or skipped (and at least one ran),
// 1 a test failed, crashed or hung, 2 error (nothing ran, no test listed,
// the library cannot be loaded, bad sharding variables).
#include "isolate.h"

#include "shim.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#if !defined(_WIN32)
#include <dirent.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#if defined(_WIN32)
int run_isolated(const IsolateOptions &, int, char **) {
  fprintf(stderr, "dllmem_harness: --isolate needs POSIX; use ctest, which runs each test alone\n");
  return 2;
}
#else

namespace {

struct Outcome {
  std::string name;
  std::string status;  // passed, failed, skipped
  std::string kind;    // failure type: assertion, crash, timeout, exit, not-run
  std::string reason;  // one line
  std::string output;  // the child's stdout+stderr, tail
  double secs = 0;
};

std::string ReadFile(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string XmlEscape(const std::string &s) {
  std::string o;
  for (unsigned char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      case '\n':
      case '\t':
        o += static_cast<char>(c);
        break;
      case '\r':
        break;
      default:
        // XML 1.0 forbids most control characters, even escaped.
        if (c < 0x20)
          o += '?';
        else
          o += static_cast<char>(c);
    }
  }
  return o;
}

const char *SigName(int sig) {
  switch (sig) {
    case SIGSEGV:
      return "SIGSEGV";
    case SIGABRT:
      return "SIGABRT";
    case SIGBUS:
      return "SIGBUS";
    case SIGILL:
      return "SIGILL";
    case SIGFPE:
      return "SIGFPE";
    case SIGKILL:
      return "SIGKILL";
    case SIGTERM:
      return "SIGTERM";
    case SIGTRAP:
      return "SIGTRAP";
    case SIGPIPE:
      return "SIGPIPE";
    default:
      return "signal";
  }
}

// Runs argv with env changes, stdout+stderr into log, in its own process
// group; kills the group at the deadline. Returns the wait status, or -1
// when it timed out, -2 when it could not be started.
int RunChild(const std::vector<std::string> &args, const std::string &log, int timeout_s,
             pid_t *pid_out) {
  std::vector<char *> av;
  for (const std::string &a : args) av.push_back(const_cast<char *>(a.c_str()));
  av.push_back(nullptr);
  int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return -2;
  fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    close(fd);
    return -2;
  }
  if (pid == 0) {
    setpgid(0, 0);
    int in = open("/dev/null", O_RDONLY);
    if (in >= 0) dup2(in, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    execv(av[0], av.data());
    _exit(127);
  }
  close(fd);
  setpgid(pid, pid);  // also here: no race with the kill below
  *pid_out = pid;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) return -2;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    usleep(5000);
  }
  kill(-pid, SIGKILL);  // role processes the test left behind
  return status;
}

// Removes the segments a test process (pid) named with shim_unique_name and
// left behind when it crashed: "dllmem-t<pid>-..." or "dllmem-t<run>-<pid>-...".
void RemoveSegmentsOf(pid_t pid) {
  DIR *d = opendir("/dev/shm");
  if (!d) return;
  std::string a = "dllmem-t" + std::to_string(pid) + "-";
  const char *run = getenv("SHIM_NAME_RUN");
  std::string b = run && *run ? "dllmem-t" + std::string(run) + "-" + std::to_string(pid) + "-" : a;
  std::vector<std::string> gone;
  while (struct dirent *e = readdir(d)) {
    std::string n = e->d_name;
    if (n.compare(0, a.size(), a) == 0 || n.compare(0, b.size(), b) == 0) gone.push_back(n);
  }
  closedir(d);
  for (const std::string &n : gone) shim_segment_remove(n.c_str());
}

// The first message after a line ending in `marker` (": Failure", ": Skipped"),
// joined onto one line.
std::string MessageAfter(const std::string &out, const std::string &marker) {
  std::istringstream in(out);
  std::string line, msg;
  bool grab = false;
  int n = 0;
  while (std::getline(in, line)) {
    if (!grab) {
      if (line.size() >= marker.size() &&
          line.compare(line.size() - marker.size(), marker.size(), marker) == 0)
        grab = true;
      continue;
    }
    if (line.empty() || line[0] == '[') break;
    size_t s = line.find_first_not_of(' ');
    if (s == std::string::npos) break;
    msg += (n++ ? " | " : "") + line.substr(s);
    if (n >= 4) break;
  }
  return msg.substr(0, 300);
}

std::string FirstLineWith(const std::string &out, const char *what) {
  size_t p = out.find(what);
  if (p == std::string::npos) return "";
  size_t e = out.find('\n', p);
  return out.substr(p, e == std::string::npos ? std::string::npos : e - p).substr(0, 200);
}

// The whole line holding `what`, without the directories of a leading path.
std::string LineContaining(const std::string &out, const char *what) {
  size_t p = out.find(what);
  if (p == std::string::npos) return "";
  size_t b = out.rfind('\n', p);
  b = b == std::string::npos ? 0 : b + 1;
  size_t e = out.find('\n', p);
  std::string line = out.substr(b, e == std::string::npos ? std::string::npos : e - b);
  size_t colon = line.find(':');
  size_t slash = line.rfind('/', colon);
  if (colon != std::string::npos && slash != std::string::npos) line = line.substr(slash + 1);
  return line.substr(0, 200);
}

std::string Tail(const std::string &s, size_t max) {
  return s.size() <= max ? s
                         : "[... " + std::to_string(s.size() - max) + " bytes cut]\n" +
                               s.substr(s.size() - max);
}

Outcome Classify(const std::string &name, int status, const std::string &out, int timeout_s) {
  Outcome o;
  o.name = name;
  o.output = Tail(out, 16384);
  std::string assertion = MessageAfter(out, ": Failure");
  std::string sanitizer = FirstLineWith(out, "SUMMARY: ");
  std::string load = FirstLineWith(out, "cannot load ");
  if (status == -1) {
    o.status = "failed";
    o.kind = "timeout";
    o.reason = "timed out after " + std::to_string(timeout_s) + " s (killed)";
  } else if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    o.status = "failed";
    o.kind = "crash";
    o.reason = "crashed: killed by signal " + std::to_string(sig) + " (" + SigName(sig) + ": " +
               strsignal(sig) + ")";
  } else if (WEXITSTATUS(status) == 0 && out.find("[  SKIPPED ] " + name) != std::string::npos) {
    o.status = "skipped";
    o.reason = MessageAfter(out, ": Skipped");
    return o;
  } else if (WEXITSTATUS(status) == 0 && out.find("[       OK ] " + name) != std::string::npos) {
    o.status = "passed";
    return o;
  } else if (WEXITSTATUS(status) == 0) {
    o.status = "failed";
    o.kind = "not-run";
    o.reason = "exit 0 but the test did not run";
    return o;
  } else if (out.find("[  FAILED  ] " + name) != std::string::npos) {
    o.status = "failed";
    o.kind = "assertion";
    o.reason = assertion.empty() ? "failed" : assertion;
    if (!load.empty()) {
      o.kind = "load";
      o.reason = load;
    }
    return o;
  } else if ((!FirstLineWith(out, "Sanitizer: ").empty() ||
              !FirstLineWith(out, "runtime error: ").empty()) &&
             out.find("[  FAILED  ] " + name) == std::string::npos) {
    // A sanitizer stopped the process (its exit code, not a signal): a crash.
    std::string what = FirstLineWith(out, "ERROR: ");
    if (!what.empty())
      what = what.substr(7);  // "AddressSanitizer: SEGV on unknown address ..."
    else if (!FirstLineWith(out, "runtime error: ").empty())
      what = "UndefinedBehaviorSanitizer: " + LineContaining(out, "runtime error: ");
    else
      what = FirstLineWith(out, "Sanitizer: ");
    o.status = "failed";
    o.kind = "crash";
    o.reason = "crashed: " + what.substr(0, 160);
    return o;
  } else {
    o.status = "failed";
    o.kind = "exit";
    o.reason = "exit " + std::to_string(WEXITSTATUS(status)) + " before the test finished";
  }
  // A crash, hang or abnormal exit: add what the test said before it.
  if (!sanitizer.empty())
    o.reason += "; " + sanitizer;
  else if (!assertion.empty())
    o.reason += "; " + assertion;
  return o;
}

// GoogleTest's --gtest_list_tests output as "Suite.Test" names, in order.
std::vector<std::string> ParseList(const std::string &out) {
  std::vector<std::string> tests;
  std::istringstream in(out);
  std::string line, suite;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::string word = line.substr(line.find_first_not_of(' '));
    word = word.substr(0, word.find_first_of(" #"));
    if (line[0] != ' ') {
      if (!word.empty() && word.back() == '.') suite = word;
    } else if (!suite.empty() && !word.empty()) {
      tests.push_back(suite + word);
    }
  }
  return tests;
}

bool ParseShardVar(const char *name, long *out) {
  const char *v = getenv(name);
  if (!v) return false;
  char *end;
  errno = 0;
  *out = strtol(v, &end, 10);
  return errno == 0 && *v && !*end;
}

void PrintChildTail(const std::string &out, int lines) {
  std::vector<std::string> all;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) all.push_back(line);
  size_t from = all.size() > static_cast<size_t>(lines) ? all.size() - lines : 0;
  for (size_t i = from; i < all.size(); i++) printf("    | %s\n", all[i].c_str());
}

bool WriteJUnit(const std::string &path, const std::vector<Outcome> &res, double total_secs) {
  FILE *f = fopen(path.c_str(), "w");
  if (!f) return false;
  // Suites in first-seen order, as GoogleTest writes them.
  std::vector<std::string> suites;
  for (const Outcome &o : res) {
    std::string s = o.name.substr(0, o.name.find('.'));
    bool seen = false;
    for (const std::string &x : suites) seen = seen || x == s;
    if (!seen) suites.push_back(s);
  }
  auto count = [&](const std::string &suite, const char *status) {
    int n = 0;
    for (const Outcome &o : res)
      if ((suite.empty() || o.name.substr(0, o.name.find('.')) == suite) &&
          (status == nullptr || o.status == status))
        n++;
    return n;
  };
  fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
  fprintf(f,
          "<testsuites tests=\"%d\" failures=\"%d\" disabled=\"0\" errors=\"0\" skipped=\"%d\" "
          "time=\"%.3f\" name=\"dllmem_harness (isolated)\">\n",
          count("", nullptr), count("", "failed"), count("", "skipped"), total_secs);
  for (const std::string &s : suites) {
    double t = 0;
    for (const Outcome &o : res)
      if (o.name.substr(0, o.name.find('.')) == s) t += o.secs;
    fprintf(f,
            "  <testsuite name=\"%s\" tests=\"%d\" failures=\"%d\" disabled=\"0\" errors=\"0\" "
            "skipped=\"%d\" time=\"%.3f\">\n",
            XmlEscape(s).c_str(), count(s, nullptr), count(s, "failed"), count(s, "skipped"), t);
    for (const Outcome &o : res) {
      if (o.name.substr(0, o.name.find('.')) != s) continue;
      std::string test = o.name.substr(o.name.find('.') + 1);
      fprintf(f,
              "    <testcase name=\"%s\" classname=\"%s\" status=\"run\" result=\"%s\" "
              "time=\"%.3f\">\n",
              XmlEscape(test).c_str(), XmlEscape(s).c_str(),
              o.status == "skipped" ? "skipped" : "completed", o.secs);
      if (o.status == "failed")
        fprintf(f, "      <failure message=\"%s\" type=\"%s\"><![CDATA[%s]]></failure>\n",
                XmlEscape(o.reason).c_str(), o.kind.c_str(), XmlEscape(o.output).c_str());
      else if (o.status == "skipped")
        fprintf(f, "      <skipped message=\"%s\"/>\n", XmlEscape(o.reason).c_str());
      fprintf(f, "    </testcase>\n");
    }
    fprintf(f, "  </testsuite>\n");
  }
  fprintf(f, "</testsuites>\n");
  return fclose(f) == 0;
}

}  // namespace

int run_isolated(const IsolateOptions &opt, int argc, char **argv) {
  // The sharding variables select tests here; the children run unsharded.
  long total = 1, index = 0;
  bool has_total = ParseShardVar("GTEST_TOTAL_SHARDS", &total);
  bool has_index = ParseShardVar("GTEST_SHARD_INDEX", &index);
  if (getenv("GTEST_TOTAL_SHARDS") || getenv("GTEST_SHARD_INDEX")) {
    if (!has_total || !has_index || total < 1 || index < 0 || index >= total) {
      fprintf(stderr,
              "dllmem_harness: invalid sharding: GTEST_TOTAL_SHARDS=%s GTEST_SHARD_INDEX=%s\n",
              getenv("GTEST_TOTAL_SHARDS") ? getenv("GTEST_TOTAL_SHARDS") : "(unset)",
              getenv("GTEST_SHARD_INDEX") ? getenv("GTEST_SHARD_INDEX") : "(unset)");
      return 2;
    }
  }
  if (const char *status_file = getenv("GTEST_SHARD_STATUS_FILE")) {
    // As GoogleTest does: tells the caller this binary knows sharding.
    if (FILE *sf = fopen(status_file, "w")) fclose(sf);
  }
  for (const char *v : {"GTEST_TOTAL_SHARDS", "GTEST_SHARD_INDEX", "GTEST_SHARD_STATUS_FILE",
                        "GTEST_OUTPUT", "GTEST_FILTER"})
    shim_unsetenv(v);

  char tmpl[] = "/tmp/dllmem-isolate-XXXXXX";
  const char *tmpdir_env = getenv("TMPDIR");
  std::string base = tmpdir_env && *tmpdir_env ? std::string(tmpdir_env) + "/dllmem-isolate-XXXXXX"
                                               : std::string(tmpl);
  std::vector<char> dirbuf(base.begin(), base.end());
  dirbuf.push_back('\0');
  if (!mkdtemp(dirbuf.data())) {
    fprintf(stderr, "dllmem_harness: cannot make a temporary directory: %s\n", strerror(errno));
    return 2;
  }
  std::string dir = dirbuf.data();
  std::string log = dir + "/child.log";

  // The arguments every child gets: ours (gtest flags are already taken out
  // by InitGoogleTest), without the isolation options.
  std::string self = opt.self;
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {  // argv[0] may be a bare name found on PATH
    exe[n] = '\0';
    self = exe;
  }
  std::vector<std::string> common = {self};
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--isolate" || a == "--no-isolate") continue;
    if (a == "--isolate-timeout") {
      i++;
      continue;
    }
    common.push_back(a);
  }
  common.push_back("--no-isolate");
  if (GTEST_FLAG_GET(also_run_disabled_tests)) common.push_back("--gtest_also_run_disabled_tests");
  common.push_back("--gtest_color=no");

  auto cleanup = [&]() {
    unlink(log.c_str());
    rmdir(dir.c_str());
  };
  std::vector<std::string> list_args = common;
  list_args.push_back("--gtest_list_tests");
  list_args.push_back("--gtest_filter=" + GTEST_FLAG_GET(filter));
  pid_t pid = 0;
  int st = RunChild(list_args, log, 60, &pid);
  std::string listing = ReadFile(log);
  std::vector<std::string> all = ParseList(listing);
  if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || all.empty()) {
    fprintf(stderr, "dllmem_harness: --gtest_list_tests listed no test (filter \"%s\")%s\n%s",
            GTEST_FLAG_GET(filter).c_str(), st < 0 ? ": it did not finish" : "",
            Tail(listing, 2000).c_str());
    cleanup();
    return 2;
  }
  std::vector<std::string> tests;
  for (size_t i = 0; i < all.size(); i++)
    if (static_cast<long>(i % static_cast<size_t>(total)) == index) tests.push_back(all[i]);

  // The library must load at all (in a child: its constructor may crash),
  // else every failure below would say nothing about the tests.
  {
    std::vector<std::string> probe = common;
    probe.push_back("--isolate-preflight");
    st = RunChild(probe, log, 60, &pid);
    std::string out = ReadFile(log);
    RemoveSegmentsOf(pid);
    if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      std::string why = st == -1 ? "timed out"
                        : (st >= 0 && WIFSIGNALED(st))
                            ? std::string("killed by ") + SigName(WTERMSIG(st))
                            : "exit " + std::to_string(st >= 0 ? WEXITSTATUS(st) : -1);
      fprintf(stderr, "dllmem_harness: ERROR: the library under test cannot be loaded (%s): %s\n",
              why.c_str(), Tail(out, 400).c_str());
      cleanup();
      return 2;
    }
  }

  printf("[==========] Running %zu tests, each in its own process (shard %ld of %ld, %zu listed)\n",
         tests.size(), index, total, all.size());
  fflush(stdout);
  std::vector<Outcome> res;
  auto t_all = std::chrono::steady_clock::now();
  for (const std::string &t : tests) {
    std::vector<std::string> args = common;
    args.push_back("--gtest_filter=" + t);
    printf("[ RUN      ] %s\n", t.c_str());
    fflush(stdout);
    auto t0 = std::chrono::steady_clock::now();
    st = RunChild(args, log, opt.timeout_s, &pid);
    std::string out =
        st == -2 ? "cannot start the child: " + std::string(strerror(errno)) : ReadFile(log);
    RemoveSegmentsOf(pid);
    Outcome o = Classify(t, st == -2 ? (127 << 8) : st, out, opt.timeout_s);
    o.secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (o.status == "passed") {
      printf("[       OK ] %s (%.0f ms)\n", t.c_str(), o.secs * 1000);
    } else if (o.status == "skipped") {
      printf("[  SKIPPED ] %s -- %s\n", t.c_str(), o.reason.c_str());
    } else {
      PrintChildTail(out, 12);
      printf("[  FAILED  ] %s -- %s\n", t.c_str(), o.reason.c_str());
    }
    fflush(stdout);
    res.push_back(o);
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_all).count();
  cleanup();
  int passed = 0, failed = 0, skipped = 0;
  for (const Outcome &o : res) {
    passed += o.status == "passed";
    failed += o.status == "failed";
    skipped += o.status == "skipped";
  }
  printf("[==========] %zu tests ran in isolation (%.1f s): %d passed, %d failed, %d skipped\n",
         res.size(), secs, passed, failed, skipped);
  for (const Outcome &o : res)
    if (o.status == "failed") printf("[  FAILED  ] %s -- %s\n", o.name.c_str(), o.reason.c_str());
  std::string xml = GTEST_FLAG_GET(output);
  if (xml.compare(0, 4, "xml:") == 0) {
    if (!WriteJUnit(xml.substr(4), res, secs)) {
      fprintf(stderr, "dllmem_harness: cannot write %s\n", xml.substr(4).c_str());
      return 2;
    }
  }
  if (res.empty()) {
    fprintf(stderr, "dllmem_harness: ERROR: this shard selected no test: nothing was run\n");
    return 2;
  }
  return failed ? 1 : 0;
}

#endif
