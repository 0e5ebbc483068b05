// Where tests find the repository, the build and ../shared.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>

namespace qp::test {

inline std::filesystem::path source_dir() { return QUANTPIPE_SOURCE_DIR; }
inline std::filesystem::path binary_dir() { return QUANTPIPE_BINARY_DIR; }
inline std::filesystem::path quantpipe_binary() { return binary_dir() / "bin" / "quantpipe"; }

// ../shared beside the repository (QUANTPIPE_SHARED_DIR overrides).
inline std::filesystem::path shared_dir() {
  if (const char* env = std::getenv("QUANTPIPE_SHARED_DIR")) return env;
  return source_dir().parent_path() / "shared";
}

// A fresh temporary directory, removed at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "quantpipe-test-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace qp::test

// Skips the current test with a clear message when ../shared (or a part) is absent.
#define QP_REQUIRE_SHARED(relative)                                                                     \
  do {                                                                                                  \
    if (!std::filesystem::exists(::qp::test::shared_dir() / (relative)))                                \
      GTEST_SKIP() << "../shared/" << (relative) << " is absent: skipping (tests use it when present)"; \
  } while (0)
