// SHA-256 of a file (OpenSSL's libcrypto), hex, lower case: the hub names LFS
// files by it (X-Linked-Etag), so a download is checked against its etag.
#pragma once

#include <filesystem>
#include <string>

namespace qp {

std::string sha256_hex(const std::filesystem::path& file);
std::string sha256_hex_of(const std::string& bytes);

// 64 lower-case hex digits: an etag that is a SHA-256.
bool is_sha256_hex(const std::string& text);

}  // namespace qp
