// Instruction-set paths, detected once from CPUID (and, for AMX, after asking
// the Linux kernel for tile state). QUANTPIPE_CPU_ISA=scalar|avx2|avx512|amx caps
// the choice so every variant can be tested on one machine.
#pragma once

#include <optional>
#include <string_view>

namespace qp {

enum class Isa : int { Scalar = 0, Avx2 = 1, Avx512 = 2, Amx = 3 };

std::string_view isa_name(Isa isa);
std::optional<Isa> isa_from_name(std::string_view name);

// Best ISA this CPU (and OS) supports, ignoring any cap.
Isa detected_isa();
// detected_isa() capped by QUANTPIPE_CPU_ISA (read once) and by set_isa_cap().
Isa active_isa();
// Caps the ISA for this process (tests use it to run every variant).
void set_isa_cap(Isa cap);

}  // namespace qp
