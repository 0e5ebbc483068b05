// What every fuzz target shares. The readers under test take files (they map
// them), so an input is written to a file in a per-process directory on
// tmpfs first. A reader may refuse any input with qp::Error; anything else
// (another exception, a crash, a sanitizer report, a hang) is a finding.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace qp::fuzz {

// A directory of this process's own, made once (/dev/shm when it exists),
// removed when the process exits.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    const std::filesystem::path base = std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp";
    std::filesystem::path d = base / ("quantpipe-fuzz-" + std::to_string(getpid()));
    std::filesystem::create_directories(d);
    // Removed at exit. The path is copied to a string never destroyed: static
    // objects may be gone by the time atexit handlers run.
    static const std::string* const removed_at_exit = new std::string(d.string());
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(*removed_at_exit, ec);
    });
    return d;
  }();
  return dir;
}

// Writes bytes to scratch_dir()/name and returns the path.
inline std::filesystem::path write_input(const std::string& name, const uint8_t* data, size_t size) {
  const std::filesystem::path path = scratch_dir() / name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

// A fresh directory scratch_dir()/name holding the input cut into files at
// NUL bytes: files[0] gets the bytes up to the first NUL, files[1] the next
// part, and so on; files past the end of the input are not written.
inline std::filesystem::path write_split_input(const std::string& name, const std::vector<std::string>& files,
                                               const uint8_t* data, size_t size) {
  const std::filesystem::path dir = scratch_dir() / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  size_t begin = 0;
  for (const std::string& file : files) {
    if (begin > size) break;
    size_t end = begin;
    while (end < size && data[end] != 0) ++end;
    std::filesystem::create_directories((dir / file).parent_path());
    std::ofstream out(dir / file, std::ios::binary);
    out.write(reinterpret_cast<const char*>(data + begin), static_cast<std::streamsize>(end - begin));
    begin = end + 1;
  }
  return dir;
}

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Runs a reader on one input: qp::Error is a clean refusal; any other
// exception aborts so that libFuzzer keeps the input as a finding.
template <typename Fn>
void expect_clean(Fn&& fn) {
  try {
    fn();
  } catch (const Error&) {
  } catch (const std::exception& e) {
    std::fprintf(stderr, "uncaught %s: %s\n", typeid(e).name(), e.what());
    std::abort();
  }
}

}  // namespace qp::fuzz
