#include "core/unique_name.h"

#include <unistd.h>

#include <chrono>
#include <random>

namespace qp {
namespace {
constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
}  // namespace

std::string random_suffix() {
  // Seeded per thread from the device, the pid and the clock, and again in a
  // forked child, so that two processes never draw the same sequence.
  thread_local std::mt19937_64 generator;
  thread_local pid_t seeded_for = 0;
  if (seeded_for != ::getpid()) {
    seeded_for = ::getpid();
    generator.seed(std::random_device{}() ^ (static_cast<uint64_t>(seeded_for) << 32) ^
                   static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  }
  std::uniform_int_distribution<size_t> pick(0, kAlphabet.size() - 1);
  std::string suffix(kRandomSuffixLength, ' ');
  for (char& c : suffix) c = kAlphabet[pick(generator)];
  return suffix;
}

bool is_random_suffix(std::string_view text) {
  if (text.size() != kRandomSuffixLength) return false;
  for (char c : text)
    if (kAlphabet.find(c) == std::string_view::npos) return false;
  return true;
}

}  // namespace qp
