#include "core/json_read.h"

#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"

namespace qp {
namespace {

using json = nlohmann::json;

// Thrown from inside the SAX handler to stop at the first problem.
struct StructureProblem {
  std::string message;
};

// Builds the document from nlohmann's SAX events, refusing what the library
// would accept: nesting deeper than kMaxJsonDepth (checked before the level is
// built) and a key repeated in one object (nlohmann keeps the last value
// without a word). Not json::parse with a callback: its parser, after every
// finished object, walks the whole enclosing container looking for a discarded
// value, so an array of n objects took O(n²) (40,000 "{}" took two minutes).
//
// With a JsonDivert, the members of the object at its path are handed to it
// instead of stored (a container member as an empty one of its kind, its
// contents skipped); the key path to the open containers is tracked for that.
class StrictDomBuilder {
 public:
  using string_t = json::string_t;

  explicit StrictDomBuilder(const JsonDivert* divert) : divert_(divert) {}
  json take_result() { return std::move(root_); }

  bool null() { return scalar(json(nullptr)); }
  bool boolean(bool value) { return scalar(json(value)); }
  bool number_integer(json::number_integer_t value) { return scalar(json(value)); }
  bool number_unsigned(json::number_unsigned_t value) { return scalar(json(value)); }
  bool number_float(json::number_float_t value, const string_t&) { return scalar(json(value)); }
  bool string(string_t& value) { return scalar(json(std::move(value))); }
  bool binary(json::binary_t& value) { return scalar(json::binary(std::move(value))); }

  bool start_object(std::size_t) { return open(json::object()); }
  bool start_array(std::size_t) { return open(json::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(string_t& name) {
    if (skipping_ > 0) return true;
    if (in_diverted_object()) {
      member_key_ = std::move(name);
      return true;
    }
    auto& members = open_.back()->get_ref<json::object_t&>();
    const auto [slot, added] = members.emplace(name, nullptr);
    if (!added)
      throw StructureProblem{cat("key ", json_excerpt(json(name), 60), " appears twice in one object")};
    slot_ = &slot->second;
    if (divert_) member_key_ = std::move(name);
    return true;
  }

  // The library's own error (syntax, number range): thrown as it is, for the
  // messages parse_json() words from it.
  template <class Exception>
  bool parse_error(std::size_t, const std::string&, const Exception& error) {
    throw error;
  }

 private:
  // Marks array elements in the key path: no diverted path goes through one.
  static constexpr std::string_view kArrayElement{"\0[]", 3};

  bool in_diverted_object() const { return diverted_ != nullptr && open_.back() == diverted_; }

  // Where the next value goes: the root, the end of the open array, or the
  // slot of the open object's last key.
  json* place(json&& value) {
    if (open_.empty()) {
      root_ = std::move(value);
      return &root_;
    }
    json& parent = *open_.back();
    if (parent.is_array()) {
      auto& items = parent.get_ref<json::array_t&>();
      items.push_back(std::move(value));
      return &items.back();
    }
    *slot_ = std::move(value);
    return slot_;
  }

  bool scalar(json&& value) {
    if (skipping_ > 0) return true;
    if (in_diverted_object()) return hand_over(value);
    place(std::move(value));
    return true;
  }

  bool open(json&& empty) {
    if (depth_ >= kMaxJsonDepth)
      throw StructureProblem{cat("nesting is deeper than ", kMaxJsonDepth, " levels")};
    ++depth_;
    if (skipping_ > 0 || in_diverted_object()) {
      if (skipping_ == 0) hand_over(empty);
      ++skipping_;
      return true;
    }
    if (divert_ && !open_.empty())
      keys_.emplace_back(open_.back()->is_array() ? std::string(kArrayElement) : member_key_);
    const bool is_object = empty.is_object();
    open_.push_back(place(std::move(empty)));
    if (divert_ && is_object && diverted_ == nullptr && keys_ == divert_->path) diverted_ = open_.back();
    return true;
  }

  bool close() {
    --depth_;
    if (skipping_ > 0) {
      --skipping_;
      return true;
    }
    if (open_.back() == diverted_) diverted_ = nullptr;
    open_.pop_back();
    if (divert_ && !open_.empty()) keys_.pop_back();  // it was a member: its key goes too
    return true;
  }

  bool hand_over(const json& value) {
    if (!divert_->take(member_key_, value))
      throw StructureProblem{
          cat("key ", json_excerpt(json(member_key_), 60), " appears twice in one object")};
    return true;
  }

  const JsonDivert* divert_;
  json root_;
  std::vector<json*> open_;        // the containers being built, innermost last
  json* slot_ = nullptr;           // the value of the open object's last key
  int depth_ = 0;                  // open containers, skipped ones included
  int skipping_ = 0;               // open containers inside a diverted member
  json* diverted_ = nullptr;       // the diverted object while it is open
  std::vector<std::string> keys_;  // with a divert: keys from the root to open_.back()
  std::string member_key_;         // the last key read (with a divert, or in the diverted object)
};

// nlohmann's what() without its "[json.exception.parse_error.101] " prefix.
std::string plain_message(const json::exception& e) {
  std::string text = e.what();
  if (text.rfind("[json.exception.", 0) == 0) {
    const size_t end = text.find("] ");
    if (end != std::string::npos) text.erase(0, end + 2);
  }
  if (text.size() > 200) text = text.substr(0, 200) + "…";
  return text;
}

void append_excerpt(const json& value, size_t budget, int depth, std::string& out);

void append_container(const json& value, size_t budget, int depth, std::string& out) {
  const bool is_object = value.is_object();
  std::string inline_text(is_object ? "{" : "[");
  bool fits = depth < 3;
  for (auto it = value.begin(); fits && it != value.end(); ++it) {
    if (inline_text.size() > 1) inline_text += ", ";
    if (is_object) inline_text += json(it.key()).dump() + ": ";
    append_excerpt(*it, budget, depth + 1, inline_text);
    fits = inline_text.size() < budget;
  }
  inline_text += is_object ? "}" : "]";
  if (fits && inline_text.size() <= budget) {
    out += inline_text;
  } else if (is_object) {
    out += cat("an object with ", value.size(), value.size() == 1 ? " key" : " keys");
  } else {
    out += cat("an array of ", value.size(), value.size() == 1 ? " item" : " items");
  }
}

void append_excerpt(const json& value, size_t budget, int depth, std::string& out) {
  if (value.is_structured()) return append_container(value, budget, depth, out);
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    if (text.size() <= budget) {
      out += value.dump(-1, ' ', false, json::error_handler_t::replace);
    } else {
      // Cut on a UTF-8 character boundary.
      size_t cut = budget;
      while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
      out += json(text.substr(0, cut)).dump(-1, ' ', false, json::error_handler_t::replace);
      out.insert(out.size() - 1, "…");
      out += cat(" (", text.size(), " bytes)");
    }
    return;
  }
  out += value.dump();
}

}  // namespace

json parse_json(std::string_view text, const std::string& where, const JsonDivert* divert) {
  try {
    StrictDomBuilder builder(divert);
    json::sax_parse(text.begin(), text.end(), &builder);
    return builder.take_result();
  } catch (const StructureProblem& p) {
    fail(where, ": ", p.message);
  } catch (const json::parse_error& e) {
    fail(where, ": invalid JSON at byte ", e.byte, ": ", plain_message(e));
  } catch (const json::out_of_range& e) {
    // 406: "number overflow parsing '1e400'"
    fail(where, ": invalid JSON: ", plain_message(e), " (numbers must fit a 64-bit float or integer)");
  } catch (const json::exception& e) {
    fail(where, ": invalid JSON: ", plain_message(e));
  }
}

json read_json_file(const std::filesystem::path& path, const JsonDivert* divert) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) fail(path.string(), ": file not found");
  if (std::filesystem::is_directory(path, ec)) fail(path.string(), ": is a directory, expected a JSON file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path.string(), ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) fail(path.string(), ": read failed");
  return parse_json(text.str(), path.string(), divert);
}

json read_json_object_file(const std::filesystem::path& path, const JsonDivert* divert) {
  json value = read_json_file(path, divert);
  if (!value.is_object()) fail(path.string(), ": expected a JSON object, found ", json_kind(value));
  return value;
}

std::string json_excerpt(const json& value, size_t max_chars) {
  std::string out;
  append_excerpt(value, max_chars, 0, out);
  return out;
}

std::string json_kind(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "an integer";
    case json::value_t::number_float:
      return "a number";
    default:
      return "a binary value";
  }
}

}  // namespace qp
