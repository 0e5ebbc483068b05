#include "core/cpu_isa.h"

#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>

#include "core/error.h"
#include "core/log.h"

namespace qp {
namespace {

constexpr std::array<std::string_view, 4> kIsaNames = {"scalar", "avx2", "avx512", "amx"};

struct CpuidRegs {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
};

CpuidRegs cpuid(unsigned leaf, unsigned subleaf) {
  CpuidRegs r;
  __cpuid_count(leaf, subleaf, r.eax, r.ebx, r.ecx, r.edx);
  return r;
}

unsigned long long xgetbv0() {
  unsigned eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<unsigned long long>(edx) << 32) | eax;
}

// Linux refuses AMX tile use until the process asks for the XTILEDATA state.
bool request_amx_permission() {
  constexpr int kArchReqXcompPerm = 0x1023;
  constexpr int kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
}

Isa detect() {
  const CpuidRegs leaf1 = cpuid(1, 0);
  const bool osxsave = leaf1.ecx & (1u << 27);
  if (!osxsave) return Isa::Scalar;
  const unsigned long long xcr0 = xgetbv0();
  const bool ymm_state = (xcr0 & 0x6) == 0x6;
  const bool zmm_state = (xcr0 & 0xE6) == 0xE6;
  const CpuidRegs leaf7 = cpuid(7, 0);
  const bool fma = leaf1.ecx & (1u << 12);
  const bool avx2 = leaf7.ebx & (1u << 5);
  const bool f16c = leaf1.ecx & (1u << 29);
  if (!(ymm_state && avx2 && fma && f16c)) return Isa::Scalar;
  const bool avx512f = leaf7.ebx & (1u << 16);
  const bool avx512bw = leaf7.ebx & (1u << 30);
  const bool avx512vl = leaf7.ebx & (1u << 31);
  const bool avx512dq = leaf7.ebx & (1u << 17);
  const bool avx512vnni = leaf7.ecx & (1u << 11);
  if (!(zmm_state && avx512f && avx512bw && avx512vl && avx512dq && avx512vnni)) return Isa::Avx2;
  const bool amx_tile = leaf7.edx & (1u << 24);
  const bool amx_int8 = leaf7.edx & (1u << 25);
  if (amx_tile && amx_int8 && request_amx_permission()) return Isa::Amx;
  return Isa::Avx512;
}

std::atomic<int> g_cap{-1};  // -1: not yet read from the environment

Isa env_cap() {
  const char* value = std::getenv("QUANTPIPE_CPU_ISA");
  if (!value || !*value) return Isa::Amx;
  auto isa = isa_from_name(value);
  if (!isa) fail("QUANTPIPE_CPU_ISA='", value, "' is not one of scalar, avx2, avx512, amx");
  return *isa;
}

}  // namespace

std::string_view isa_name(Isa isa) { return kIsaNames[static_cast<int>(isa)]; }

std::optional<Isa> isa_from_name(std::string_view name) {
  for (size_t i = 0; i < kIsaNames.size(); ++i)
    if (kIsaNames[i] == name) return static_cast<Isa>(i);
  return std::nullopt;
}

Isa detected_isa() {
  static const Isa isa = detect();
  return isa;
}

Isa active_isa() {
  int cap = g_cap.load();
  if (cap < 0) {
    cap = static_cast<int>(env_cap());
    g_cap = cap;
  }
  return static_cast<Isa>(std::min(cap, static_cast<int>(detected_isa())));
}

void set_isa_cap(Isa cap) { g_cap = static_cast<int>(cap); }

}  // namespace qp
