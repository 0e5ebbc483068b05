// Read-only view of a zip archive whose entries are stored (not compressed),
// as torch.save writes them: each entry is a span of the memory-mapped file,
// so tensor bytes are read in place. Debian's minizip parses the directories
// (zip64 included) through I/O callbacks over the mapping; this file checks
// what minizip leaves to the caller: every entry is stored, unencrypted, lies
// inside the file, and its bytes match the CRC-32 the archive records.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <span>
#include <string>

#include "core/mapped_file.h"

namespace qp {

class ZipArchive {
 public:
  // Maps and indexes the archive; throws "[zip] <path>: <problem>".
  explicit ZipArchive(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return file_.path(); }
  // Entry name → its bytes inside the mapping (uncompressed, CRC checked).
  const std::map<std::string, std::span<const std::byte>>& entries() const { return entries_; }
  const std::span<const std::byte>* find(const std::string& name) const;  // nullptr when absent

 private:
  MappedFile file_;
  std::map<std::string, std::span<const std::byte>> entries_;
};

// True when the bytes start like a zip archive ("PK\3\4" or an empty archive's "PK\5\6").
bool looks_like_zip(std::span<const std::byte> bytes);

}  // namespace qp
