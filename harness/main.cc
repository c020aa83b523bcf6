// The harness's entry point: `--library PATH` (or DLLMEM_TEST_LIBRARY) picks
// the build under test; `--role NAME ...` runs this binary as a child.
#include "fixture.h"

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
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--library") == 0 && i + 1 < argc) {
      g_library = argv[++i];
      g_hooks_library.clear();  // hooks belong to the default build only
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
  int rc = RUN_ALL_TESTS();
  shim_reap_all();
  return rc;
}
