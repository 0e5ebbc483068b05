// Streamed input for the model-running subcommands: lines of a file or of
// standard input, read as they come (a pipe's first results appear before it
// ends) with a bound on the length of one line, so `--input /dev/zero` fails
// at once instead of reading gigabytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "quantpipe/model.h"

namespace qp::cli {

// The longest line an input may hold. A text this long is already hundreds
// of times what any model's positions take after tokenization.
inline constexpr size_t kMaxLineBytes = size_t{1} << 20;

struct InputLine {
  int64_t line_number = 0;  // 1-based
  std::string text;         // without the "\n" or "\r\n"
};

class LineReader {
 public:
  // path "" reads standard input. Throws "<path>: cannot open input file: …"
  // and "<path>: is a directory, expected an input file".
  explicit LineReader(const std::string& path);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // The next line; false at the end of the input. A last line without "\n"
  // counts. Throws "<name>:<line>: line longer than 1048576 bytes …" and
  // "<name>: read failed: …".
  bool next(InputLine& line);
  // Whether next() can answer without waiting for the input.
  bool ready() const;
  const std::string& name() const { return name_; }  // the path, or "<stdin>"

 private:
  bool fill();  // reads more; false at the end of the input

  int fd_ = -1;
  bool owns_fd_ = false;
  bool at_end_ = false;
  std::string name_;
  std::string buffer_;
  size_t start_ = 0;  // unread bytes are buffer_[start_, end)
  int64_t line_number_ = 0;
};

struct InputRecord {
  int64_t line_number = 0;
  TextInput input;
  // A pre-tokenized JSONL line {"input_ids", "token_type_ids"?, "attention_mask"?}
  // (what `quantpipe tokenize` prints): used as it is, no tokenizer involved.
  std::optional<Encoding> ids;
};

// The inputs of embed, classify and tokenize, in order. The first non-empty
// line decides the format: one starting with "{" makes the input JSONL, where
// every line must be a JSON object {"text", "text_pair"?} or, pre-tokenized,
// {"input_ids", "token_type_ids"?, "attention_mask"?} (blank lines hold no
// record and are skipped) and any other line, the first included, is an
// error naming file:line; else every line, empty ones too, is one text.
class TextInputReader {
 public:
  explicit TextInputReader(const std::string& path);

  // Up to `count` records, fewer only at the end of the input; false when
  // there are none left. Throws "<name>: no input lines (the input is
  // empty)" when the input has no line at all.
  bool next_batch(std::vector<InputRecord>& batch, size_t count);
  // The same one record at a time.
  bool next(InputRecord& record);
  // Whether next() can answer without waiting for the input.
  bool ready() const;
  const std::string& name() const { return lines_.name(); }

 private:
  void detect_format();
  InputRecord parse(InputLine&& line) const;

  LineReader lines_;
  bool detected_ = false;
  bool jsonl_ = false;
  int64_t pending_empty_ = 0;  // leading empty lines read while detecting (plain text: texts "")
  int64_t next_empty_line_ = 1;
  bool holding_ = false;  // held_ is the first non-empty line, read while detecting
  InputLine held_;
};

// All lines of a file as plain texts (bench), with the same bound per line.
std::vector<TextInput> read_all_texts(const std::string& path);

}  // namespace qp::cli
