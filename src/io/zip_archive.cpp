#include "io/zip_archive.h"

#include <unzip.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <limits>
#include <map>
#include <vector>

#include "core/error.h"

namespace qp {
namespace {

// minizip reads through these callbacks, so it sees exactly the mapped bytes
// this class hands out (no second open of the path that could see another file).
struct Cursor {
  std::span<const std::byte> bytes;
  uint64_t pos = 0;
};

voidpf ZCALLBACK open_cursor(voidpf opaque, const void*, int) { return opaque; }

uLong ZCALLBACK read_cursor(voidpf, voidpf stream, void* buf, uLong size) {
  auto* c = static_cast<Cursor*>(stream);
  const uint64_t left = c->pos < c->bytes.size() ? c->bytes.size() - c->pos : 0;
  const uLong n = static_cast<uLong>(std::min<uint64_t>(size, left));
  if (n) std::memcpy(buf, c->bytes.data() + c->pos, n);
  c->pos += n;
  return n;
}

uLong ZCALLBACK write_cursor(voidpf, voidpf, const void*, uLong) { return 0; }

ZPOS64_T ZCALLBACK tell_cursor(voidpf, voidpf stream) { return static_cast<Cursor*>(stream)->pos; }

long ZCALLBACK seek_cursor(voidpf, voidpf stream, ZPOS64_T offset, int origin) {
  auto* c = static_cast<Cursor*>(stream);
  const uint64_t base = origin == ZLIB_FILEFUNC_SEEK_SET   ? 0
                        : origin == ZLIB_FILEFUNC_SEEK_CUR ? c->pos
                                                           : c->bytes.size();
  if (offset > c->bytes.size() || base > c->bytes.size() - offset) return -1;
  c->pos = base + offset;
  return 0;
}

int ZCALLBACK close_cursor(voidpf, voidpf) { return 0; }
int ZCALLBACK error_cursor(voidpf, voidpf) { return 0; }

uint32_t crc32_of(std::span<const std::byte> bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  const auto* p = reinterpret_cast<const Bytef*>(bytes.data());
  for (size_t left = bytes.size(); left > 0;) {
    const uInt n = static_cast<uInt>(std::min<size_t>(left, std::numeric_limits<uInt>::max()));
    crc = crc32(crc, p, n);
    p += n;
    left -= n;
  }
  return static_cast<uint32_t>(crc);
}

class Unzip {
 public:
  Unzip(Cursor& cursor, const std::string& path) {
    zlib_filefunc64_def io{};
    io.zopen64_file = open_cursor;
    io.zread_file = read_cursor;
    io.zwrite_file = write_cursor;
    io.ztell64_file = tell_cursor;
    io.zseek64_file = seek_cursor;
    io.zclose_file = close_cursor;
    io.zerror_file = error_cursor;
    io.opaque = &cursor;
    handle_ = unzOpen2_64(path.c_str(), &io);
  }
  ~Unzip() {
    if (handle_) unzClose(handle_);
  }
  Unzip(const Unzip&) = delete;
  Unzip& operator=(const Unzip&) = delete;
  unzFile get() const { return handle_; }

 private:
  unzFile handle_ = nullptr;
};

}  // namespace

bool looks_like_zip(std::span<const std::byte> bytes) {
  if (bytes.size() < 4) return false;
  const auto b = [&](size_t i) { return static_cast<unsigned char>(bytes[i]); };
  return b(0) == 'P' && b(1) == 'K' && ((b(2) == 3 && b(3) == 4) || (b(2) == 5 && b(3) == 6));
}

ZipArchive::ZipArchive(const std::filesystem::path& path) : file_(path) {
  const std::string where = "[zip] " + path.string() + ": ";
  Cursor cursor{file_.bytes()};
  const Unzip zip(cursor, path.string());
  if (!zip.get())
    fail(where, "not a zip archive, or its end-of-central-directory record is missing or damaged (",
         file_.size(), " bytes; a truncated download?)");

  std::vector<char> name(65536 + 1);
  // Entries' data spans, begin → end. torch.save's entries never share bytes;
  // entries that do would have the same bytes CRC-checked again for each
  // (quadratic in a crafted file), so overlaps are refused.
  std::map<uint64_t, uint64_t> spans;
  int status = unzGoToFirstFile(zip.get());
  for (; status == UNZ_OK; status = unzGoToNextFile(zip.get())) {
    unz_file_info64 info{};
    if (unzGetCurrentFileInfo64(zip.get(), &info, name.data(), name.size(), nullptr, 0, nullptr, 0) != UNZ_OK)
      fail(where, "the central directory is damaged after ", entries_.size(), " entries");
    const std::string entry(name.data(), std::min<size_t>(info.size_filename, name.size() - 1));
    const std::string what = where + "entry '" + entry + "' ";
    if (info.flag & 1u) fail(what, "is encrypted");
    if (info.compression_method != 0)
      fail(what, "is compressed (method ", info.compression_method,
           "); torch.save stores entries uncompressed, and quantpipe reads tensors in place");
    if (info.compressed_size != info.uncompressed_size)
      fail(what, "is stored but records ", info.compressed_size, " bytes compressed and ",
           info.uncompressed_size, " uncompressed");
    if (unzOpenCurrentFile(zip.get()) != UNZ_OK)
      fail(what, "has a local header that is missing or disagrees with the central directory");
    const uint64_t begin = unzGetCurrentFileZStreamPos64(zip.get());
    unzCloseCurrentFile(zip.get());  // its CRC verdict needs a full read; checked below instead
    const uint64_t size = info.uncompressed_size;
    if (begin > file_.size() || size > file_.size() - begin)
      fail(what, "spans bytes [", begin, ", ", begin + size, ") but the file has ", file_.size());
    if (size > 0) {
      const auto next = spans.lower_bound(begin);
      if ((next != spans.end() && next->first < begin + size) ||
          (next != spans.begin() && std::prev(next)->second > begin))
        fail(what, "shares bytes with another entry: the central directory is corrupt or crafted");
      spans.emplace(begin, begin + size);
    }
    const std::span<const std::byte> bytes(file_.data() + begin, size);
    if (crc32_of(bytes) != static_cast<uint32_t>(info.crc))
      fail(what, "fails its CRC-32 check: the file is corrupt");
    if (!entries_.emplace(entry, bytes).second) fail(what, "appears twice");
  }
  if (status != UNZ_END_OF_LIST_OF_FILE)
    fail(where, "the central directory is damaged after ", entries_.size(), " entries (minizip error ",
         status, ")");
}

const std::span<const std::byte>* ZipArchive::find(const std::string& name) const {
  const auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second;
}

}  // namespace qp
