#include "input_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_read.h"
#include "io/pretokenized.h"

namespace qp::cli {
namespace {

constexpr size_t kReadBytes = 64 << 10;
// JSON nesting deeper than any record needs; deeper input is refused while
// parsing, before a structure that deep is built.
constexpr int kMaxJsonDepth = 32;

struct TooDeep {};

bool is_blank(const std::string& text) { return text.find_first_not_of(" \t\r\f\v") == std::string::npos; }

bool starts_as_object(const std::string& text) {
  const size_t first = text.find_first_not_of(" \t");
  return first != std::string::npos && text[first] == '{';
}

// What nlohmann says is wrong, without its exception id and without the
// echo of the input ("; last read: '…'"), which may be long.
std::string json_syntax_problem(const std::string& what) {
  size_t begin = what.find("syntax error");
  if (begin == std::string::npos) begin = what.find(": ") == std::string::npos ? 0 : what.find(": ") + 2;
  std::string problem = what.substr(begin, what.find("; last read") - begin);
  if (problem.size() > 200) problem = problem.substr(0, 200) + "…";
  return problem;
}

}  // namespace

LineReader::LineReader(const std::string& path) : name_(path.empty() ? "<stdin>" : path) {
  if (path.empty()) {
    fd_ = STDIN_FILENO;
    return;
  }
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail(path, ": is a directory, expected an input file");
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) fail(path, ": cannot open input file: ", std::strerror(errno));
  owns_fd_ = true;
}

LineReader::~LineReader() {
  if (owns_fd_) ::close(fd_);
}

bool LineReader::fill() {
  if (start_ > 0) {
    buffer_.erase(0, start_);
    start_ = 0;
  }
  const size_t old_size = buffer_.size();
  buffer_.resize(old_size + kReadBytes);
  for (;;) {
    const ssize_t n = ::read(fd_, buffer_.data() + old_size, kReadBytes);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(name_, ": read failed: ", std::strerror(errno));
    buffer_.resize(old_size + static_cast<size_t>(n));
    if (n == 0) at_end_ = true;
    return n > 0;
  }
}

bool LineReader::ready() const { return at_end_ || buffer_.find('\n', start_) != std::string::npos; }

bool LineReader::next(InputLine& line) {
  size_t scanned = start_;
  for (;;) {
    const size_t newline = buffer_.find('\n', scanned);
    const size_t end = newline != std::string::npos ? newline : buffer_.size();
    if (end - start_ > kMaxLineBytes)
      fail(name_, ":", line_number_ + 1, ": line longer than ", kMaxLineBytes,
           " bytes (the most one input line may hold)");
    if (newline != std::string::npos || (at_end_ && start_ < buffer_.size())) {
      line.text.assign(buffer_, start_, end - start_);
      start_ = newline != std::string::npos ? newline + 1 : end;
      if (!line.text.empty() && line.text.back() == '\r') line.text.pop_back();
      // A UTF-8 byte order mark is not part of the first text.
      if (line_number_ == 0 && line.text.compare(0, 3, "\xEF\xBB\xBF") == 0) line.text.erase(0, 3);
      line.line_number = ++line_number_;
      return true;
    }
    if (at_end_) return false;
    scanned = buffer_.size() - start_;  // offsets shift as fill() drops what was read
    fill();
  }
}

TextInputReader::TextInputReader(const std::string& path) : lines_(path) {}

void TextInputReader::detect_format() {
  detected_ = true;
  InputLine line;
  bool any = false;
  while (lines_.next(line)) {
    any = true;
    if (line.text.empty()) {
      ++pending_empty_;
      continue;
    }
    held_ = std::move(line);
    holding_ = true;
    break;
  }
  if (!any) fail(name(), ": no input lines (the input is empty)");
  jsonl_ = holding_ && starts_as_object(held_.text);
  if (jsonl_) pending_empty_ = 0;
}

bool TextInputReader::ready() const {
  return !detected_ ? lines_.ready() : (pending_empty_ > 0 || holding_ || lines_.ready());
}

InputRecord TextInputReader::parse(InputLine&& line) const {
  InputRecord record{line.line_number, {}};
  if (!jsonl_) {
    record.input.text = std::move(line.text);
    return record;
  }
  const auto where = [&] { return cat(name(), ":", line.line_number, ": "); };
  const char* const why = "(the input is JSONL, as its first line starts with '{')";
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(line.text, [](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
      if (depth > kMaxJsonDepth) throw TooDeep{};
      return true;
    });
  } catch (const nlohmann::json::parse_error& e) {
    fail(where(), "not valid JSON at byte ", e.byte, ": ", json_syntax_problem(e.what()), " ", why);
  } catch (const TooDeep&) {
    fail(where(), "JSON nested deeper than ", kMaxJsonDepth, " levels ", why);
  }
  if (!json.is_object())
    fail(where(), "expected a JSON object {\"text\": …}, got ", json.type_name(), " ", why);
  if (json.contains("input_ids")) {
    if (json.contains("text")) fail(where(), "give either \"text\" or \"input_ids\", not both");
    record.ids = encoding_from_json(json, where());
    return record;
  }
  const auto text = json.find("text");
  if (text == json.end() || !text->is_string()) fail(where(), "JSON line has no string field \"text\"");
  record.input.text = text->get<std::string>();
  if (const auto pair = json.find("text_pair"); pair != json.end() && !pair->is_null()) {
    if (!pair->is_string()) fail(where(), "\"text_pair\" must be a string");
    record.input.text_pair = pair->get<std::string>();
  }
  return record;
}

bool TextInputReader::next(InputRecord& record) {
  if (!detected_) detect_format();
  if (pending_empty_ > 0) {
    --pending_empty_;
    record = {next_empty_line_++, {}};
    return true;
  }
  InputLine line;
  if (holding_) {
    holding_ = false;
    line = std::move(held_);
  } else {
    do {
      if (!lines_.next(line)) return false;
    } while (jsonl_ && is_blank(line.text));
  }
  record = parse(std::move(line));
  return true;
}

bool TextInputReader::next_batch(std::vector<InputRecord>& batch, size_t count) {
  batch.clear();
  InputRecord record;
  while (batch.size() < count && next(record)) batch.push_back(std::move(record));
  return !batch.empty();
}

std::vector<TextInput> read_all_texts(const std::string& path) {
  LineReader lines(path);
  std::vector<TextInput> texts;
  for (InputLine line; lines.next(line);) texts.push_back({std::move(line.text), std::nullopt});
  if (texts.empty()) fail(lines.name(), ": no input lines (the input is empty)");
  return texts;
}

}  // namespace qp::cli
