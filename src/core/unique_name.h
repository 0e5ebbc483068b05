// Random name suffixes for files and directories made beside a target
// ("<target>.tmp-Ab3xZ9"). Callers create the path with O_EXCL / mkdir and
// draw again on EEXIST; unlike mkstemp/mkdtemp that lets the new file or
// directory get the usual permissions (0666 / 0777 less the umask), not 0600 / 0700.
#pragma once

#include <string>
#include <string_view>

namespace qp {

inline constexpr size_t kRandomSuffixLength = 6;

// kRandomSuffixLength characters from [A-Za-z0-9].
std::string random_suffix();

// Whether `text` could have come from random_suffix().
bool is_random_suffix(std::string_view text);

}  // namespace qp
