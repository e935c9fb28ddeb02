#pragma once

#include <cstdio>
#include <cstdlib>

/// Checks an invariant in every build type; aborts with the location on failure.
#define CW_ASSERT(cond)                                                                            \
  do {                                                                                             \
    if (!(cond)) [[unlikely]] {                                                                    \
      std::fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #cond);            \
      std::abort();                                                                                \
    }                                                                                              \
  } while (false)
