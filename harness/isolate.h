// The isolated runner: each test in its own child process (see isolate.cc).
#pragma once

#include <string>

struct IsolateOptions {
  std::string self;     // this executable, to re-execute
  int timeout_s = 300;  // per test; a test past it is killed and failed as a hang
};

// Runs the tests GoogleTest's flags select, each in a child; argv is what
// InitGoogleTest left (our own options). Returns the exit code (0/1/2).
int run_isolated(const IsolateOptions &opt, int argc, char **argv);
