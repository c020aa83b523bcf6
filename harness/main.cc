// The harness's entry point: `--library PATH` (or DLLMEM_TEST_LIBRARY) picks
// the build under test; `--role NAME ...` runs this binary as a child.
// With --library, each test runs in its own child process (--isolate, see
// isolate.cc) unless --no-isolate is given.
#include "fixture.h"
#include "isolate.h"

#include <cstdlib>
#include <cstring>

#if defined(_WIN32)
#include <windows.h>
#endif
#ifndef DLLMEM_DEFAULT_LIBRARY
#define DLLMEM_DEFAULT_LIBRARY ""
#endif
#ifndef DLLMEM_DEFAULT_HOOKS_LIBRARY
#define DLLMEM_DEFAULT_HOOKS_LIBRARY ""
#endif

int main(int argc, char **argv) {
  shim_set_self(argv[0]);
  static const shim_role *const roles[] = {harness_roles, shim_common_roles, nullptr};
  if (int rc = 0; shim_role_dispatch(argc, argv, roles, &rc)) return rc;

  ::testing::InitGoogleTest(&argc, argv);
  const char *env_lib = getenv("DLLMEM_TEST_LIBRARY");
  g_library = env_lib ? env_lib : DLLMEM_DEFAULT_LIBRARY;
  g_hooks_library = DLLMEM_DEFAULT_HOOKS_LIBRARY;
  int isolate = -1;  // -1: on with --library (POSIX), off otherwise
  bool preflight = false;
  IsolateOptions iso;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--library") == 0 && i + 1 < argc) {
      g_library = argv[++i];
      g_hooks_library.clear();  // hooks belong to the default build only
    } else if (strcmp(argv[i], "--isolate") == 0) {
      isolate = 1;
    } else if (strcmp(argv[i], "--no-isolate") == 0) {
      isolate = 0;
    } else if (strcmp(argv[i], "--isolate-preflight") == 0) {
      preflight = true;
    } else if (strcmp(argv[i], "--isolate-timeout") == 0 && i + 1 < argc) {
      iso.timeout_s = atoi(argv[++i]);
      if (iso.timeout_s < 1) {
        fprintf(stderr, "dllmem_harness: --isolate-timeout wants seconds >= 1\n");
        return 2;
      }
    } else if (strcmp(argv[i], "--no-leak-check") == 0) {
      g_leak_check = false;
    } else if (strcmp(argv[i], "--hooks-library") == 0 && i + 1 < argc) {
      g_hooks_library = argv[++i];
    }
  }
  if (env_lib && g_hooks_library == DLLMEM_DEFAULT_HOOKS_LIBRARY &&
      strcmp(env_lib, DLLMEM_DEFAULT_LIBRARY) != 0)
    g_hooks_library.clear();
  if (g_library.empty()) {
    fprintf(stderr, "dllmem_harness: no library: pass --library PATH or set DLLMEM_TEST_LIBRARY\n");
    return 2;
  }
  if (preflight) {  // the isolated runner's check that the library loads at all
    char name[128], err[512];
    shim_unique_name(name, sizeof name, "preflight");
    shim_setenv("DLLMEM_NAME", name);
    shim_lib lib;
    if (!shim_lib_load(&lib, g_library.c_str(), err, sizeof err)) {
      fprintf(stderr, "%s\n", err);
      return 1;
    }
    shim_lib_unload(&lib);
    shim_segment_remove(name);
    return 0;
  }
#if !defined(_WIN32)
  bool listing = ::testing::GTEST_FLAG(list_tests);
  bool by_library = false;
  for (int i = 1; i < argc; i++) by_library = by_library || strcmp(argv[i], "--library") == 0;
  if (!listing && (isolate == 1 || (isolate == -1 && by_library))) {
    iso.self = argv[0];
    return run_isolated(iso, argc, argv);
  }
#else
  (void)isolate;  // --isolate needs POSIX; ctest runs each test alone there
#endif
  int rc = RUN_ALL_TESTS();
  shim_reap_all();
  return rc;
}
