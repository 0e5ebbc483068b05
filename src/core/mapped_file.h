// Read-only memory map of a whole file (RAII). Empty files map to an empty span.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>

namespace qp {

class MappedFile {
 public:
  // Throws qp::Error naming the path when it cannot be opened or mapped.
  explicit MappedFile(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::byte* data() const { return data_; }
  size_t size() const { return size_; }
  std::span<const std::byte> bytes() const { return {data_, size_}; }
  const std::filesystem::path& path() const { return path_; }
  // Drops the pages read so far from this process's resident set (they stay
  // in the page cache; a later read maps them back in).
  void drop_resident_pages() const;

 private:
  std::filesystem::path path_;
  const std::byte* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace qp
