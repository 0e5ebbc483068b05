// Tests that cannot mean anything under AddressSanitizer / ThreadSanitizer
// (scripts/test-sanitize.sh) skip themselves with the reason: an address-space
// limit (the sanitizers reserve terabytes of shadow memory), glibc malloc's
// behaviour (the sanitizers replace malloc), fixed memory bounds.
#pragma once

#include <gtest/gtest.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define QP_SKIP_UNDER_SANITIZER(why) GTEST_SKIP() << "not under a sanitizer: " << (why)
#else
#define QP_SKIP_UNDER_SANITIZER(why) static_cast<void>(0)
#endif
