// Base64 (RFC 4648, standard alphabet, '=' padding): the hub's commit API
// takes regular files' bytes and the preupload check takes each file's first
// 512 bytes in this encoding.
#pragma once

#include <string>
#include <string_view>

namespace qp {

std::string base64_encode(std::string_view bytes);

}  // namespace qp
