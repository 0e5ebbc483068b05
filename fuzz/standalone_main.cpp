// main() for the fuzz targets where libFuzzer is not linked (the default GCC
// build): the CI smoke. It runs LLVMFuzzerTestOneInput on every stored input,
// then on mutations of them (bit flips, boundary bytes, inserted, deleted and
// repeated runs, truncation, splices of two inputs) from a fixed seed, for a
// number of mutations or seconds. It is no substitute for scripts/fuzz.sh
// (no coverage guidance, no sanitizers unless the build has them): it keeps
// every stored input passing and shakes each reader for a few seconds per CI run.
//
// Usage: fuzz_TARGET [--mutations N] [--seconds S] [--seed X] FILE|DIR...
// A crash or abort leaves the input that caused it in ./fuzz-smoke-crash-<pid>
// and names it on stderr.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

using Bytes = std::vector<uint8_t>;

// The input being run, for the crash handler.
const Bytes* g_current = nullptr;
char g_crash_path[64];

void on_crash(int sig) {
  if (g_current) {
    const int fd = ::open(g_crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      [[maybe_unused]] ssize_t n = ::write(fd, g_current->data(), g_current->size());
      ::close(fd);
    }
    const char message[] = "fuzz smoke: the input that crashed is in ";
    [[maybe_unused]] ssize_t n = ::write(2, message, sizeof(message) - 1);
    n = ::write(2, g_crash_path, std::strlen(g_crash_path));
    n = ::write(2, "\n", 1);
  }
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

void run(const Bytes& input) {
  g_current = &input;
  LLVMFuzzerTestOneInput(input.data(), input.size());
  g_current = nullptr;
}

Bytes read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

Bytes mutate(const std::vector<Bytes>& inputs, std::mt19937_64& rng) {
  auto pick = [&rng](size_t n) { return n == 0 ? size_t{0} : static_cast<size_t>(rng() % n); };
  Bytes out = inputs[pick(inputs.size())];
  static constexpr uint8_t kBoundary[] = {0x00, 0x01, 0x7f, 0x80, 0xff, '"', '{',
                                          '[',  ':',  ',',  '\n', '-',  '9'};
  const int edits = 1 + static_cast<int>(pick(4));
  for (int e = 0; e < edits; ++e) {
    switch (pick(7)) {
      case 0:  // flip a bit
        if (!out.empty()) out[pick(out.size())] ^= static_cast<uint8_t>(1u << pick(8));
        break;
      case 1:  // a boundary byte
        if (!out.empty()) out[pick(out.size())] = kBoundary[pick(sizeof(kBoundary))];
        break;
      case 2: {  // insert random bytes
        const size_t at = pick(out.size() + 1), n = 1 + pick(8);
        for (size_t i = 0; i < n; ++i)
          out.insert(out.begin() + static_cast<long>(at), static_cast<uint8_t>(rng()));
        break;
      }
      case 3: {  // delete a run
        if (out.empty()) break;
        const size_t at = pick(out.size()), n = 1 + pick(std::min<size_t>(out.size() - at, 64));
        out.erase(out.begin() + static_cast<long>(at), out.begin() + static_cast<long>(at + n));
        break;
      }
      case 4: {  // repeat a run
        if (out.empty() || out.size() > (1u << 20)) break;
        const size_t at = pick(out.size()), n = 1 + pick(std::min<size_t>(out.size() - at, 64));
        const Bytes run(out.begin() + static_cast<long>(at), out.begin() + static_cast<long>(at + n));
        out.insert(out.begin() + static_cast<long>(at), run.begin(), run.end());
        break;
      }
      case 5:  // truncate
        out.resize(pick(out.size() + 1));
        break;
      default: {  // splice: the head of this input, the tail of another
        const Bytes& other = inputs[pick(inputs.size())];
        out.resize(pick(out.size() + 1));
        out.insert(out.end(), other.begin() + static_cast<long>(pick(other.size() + 1)), other.end());
        break;
      }
    }
  }
  return out;
}

int usage() {
  std::cerr << "usage: fuzz_TARGET [--mutations N] [--seconds S] [--seed X] FILE|DIR...\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  long long mutations = 0;
  double seconds = 0;
  uint64_t seed = 1;
  std::vector<std::filesystem::path> paths;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--mutations" || arg == "--seconds" || arg == "--seed") && i + 1 < argc) {
      const char* value = argv[++i];
      if (arg == "--mutations") mutations = std::atoll(value);
      if (arg == "--seconds") seconds = std::atof(value);
      if (arg == "--seed") seed = std::strtoull(value, nullptr, 10);
    } else if (arg.rfind("--", 0) == 0) {
      return usage();
    } else {
      paths.emplace_back(arg);
    }
  }
  if (paths.empty()) return usage();
  std::snprintf(g_crash_path, sizeof g_crash_path, "fuzz-smoke-crash-%d", static_cast<int>(getpid()));
  for (int sig : {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL}) std::signal(sig, on_crash);

  std::vector<Bytes> inputs;
  for (const auto& path : paths) {
    if (std::filesystem::is_directory(path)) {
      for (const auto& entry : std::filesystem::directory_iterator(path))
        if (entry.is_regular_file()) inputs.push_back(read_file(entry.path()));
    } else if (std::filesystem::is_regular_file(path)) {
      inputs.push_back(read_file(path));
    } else {
      std::cerr << path.string() << ": no such file or directory\n";
      return 2;
    }
  }
  if (inputs.empty()) inputs.emplace_back();
  for (const Bytes& input : inputs) run(input);

  std::mt19937_64 rng(seed);
  const auto start = std::chrono::steady_clock::now();
  long long done = 0;
  for (; done < mutations; ++done) {
    if (seconds > 0 &&
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > seconds)
      break;
    run(mutate(inputs, rng));
  }
  std::cout << inputs.size() << " stored inputs and " << done << " mutations (seed " << seed
            << "): no crash\n";
  return 0;
}
