#include "core/json_read.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <sstream>
#include <unordered_set>
#include <vector>

#include "core/error.h"

namespace qp {
namespace {

using json = nlohmann::json;

// Thrown from inside the parser callback to stop at the first problem.
struct StructureProblem {
  std::string message;
};

// Counts the keys of every open object and compares the count with the
// finished object's size: nlohmann keeps the last value of a repeated key
// without a word, so fewer members than keys means a key appeared twice.
// Counting instead of remembering every key keeps a 30,000-entry vocabulary
// cheap to read; the rare file that has a repeat is read again by
// NameTheRepeatedKey for the message.
//
// With a JsonDivert, the members of the object at its path are refused at
// their key (nlohmann then stores neither key nor value) and handed to it at
// their value; the key path to the current value is tracked for that.
class StrictParse {
 public:
  explicit StrictParse(const JsonDivert* divert) : divert_(divert) {}

  bool operator()(int depth, json::parse_event_t event, json& parsed) {
    // Depths as nlohmann counts them: a container's start and end at its own
    // depth d, its members' keys and scalar values at d + 1.
    const bool member = diverting_depth_ >= 0 && depth == diverting_depth_ + 1;
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (depth >= kMaxJsonDepth)
          throw StructureProblem{cat("nesting is deeper than ", kMaxJsonDepth, " levels")};
        if (member)
          return hand_over(event == json::parse_event_t::object_start ? json::object() : json::array());
        if (event == json::parse_event_t::array_start) {
          if (divert_) set_key(depth + 1, kArrayElement);
        } else {
          open_key_counts_.push_back(0);
          if (divert_ && diverting_depth_ < 0 && depth == static_cast<int>(divert_->path.size()) &&
              std::equal(divert_->path.begin(), divert_->path.end(), keys_.begin()))
            diverting_depth_ = depth;
        }
        break;
      case json::parse_event_t::object_end:
        if (!open_key_counts_.empty()) {
          if (parsed.is_object() && parsed.size() != open_key_counts_.back()) repeated_ = true;
          open_key_counts_.pop_back();
        }
        if (depth == diverting_depth_) diverting_depth_ = -1;
        break;
      case json::parse_event_t::key:
        if (member) {
          member_key_ = parsed.get_ref<const std::string&>();
          return false;  // nlohmann stores neither this key nor its value
        }
        if (!open_key_counts_.empty()) ++open_key_counts_.back();
        if (divert_) set_key(depth, parsed.get_ref<const std::string&>());
        break;
      case json::parse_event_t::value:
        if (member) hand_over(parsed);
        break;
      default:
        break;
    }
    return true;
  }
  bool repeated() const { return repeated_; }

 private:
  // Marks array elements in the key path: no diverted path goes through one.
  static constexpr std::string_view kArrayElement{"\0[]", 3};

  // keys_[d − 1]: the key of the member being read at depth d; deeper entries
  // are stale and cut.
  void set_key(int depth, std::string_view key) {
    keys_.resize(static_cast<size_t>(depth));
    keys_.back() = key;
  }
  bool hand_over(const json& value) {
    if (!divert_->take(member_key_, value))
      throw StructureProblem{
          cat("key ", json_excerpt(json(member_key_), 60), " appears twice in one object")};
    return false;
  }

  const JsonDivert* divert_;
  std::vector<size_t> open_key_counts_;
  bool repeated_ = false;
  std::vector<std::string> keys_;
  int diverting_depth_ = -1;  // the diverted object's depth while inside it
  std::string member_key_;
};

// Finds the first repeated key (only once a repeat is known to be there).
class NameTheRepeatedKey {
 public:
  bool operator()(int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) open_keys_.emplace_back();
    if (event == json::parse_event_t::object_end && !open_keys_.empty()) open_keys_.pop_back();
    if (event == json::parse_event_t::key && !open_keys_.empty() &&
        !open_keys_.back().insert(parsed.get<std::string>()).second)
      throw StructureProblem{cat("key ", json_excerpt(parsed, 60), " appears twice in one object")};
    return true;
  }

 private:
  std::vector<std::unordered_set<std::string>> open_keys_;
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
    // nlohmann copies the callback: keep the state outside it.
    StrictParse strict(divert);
    json value = json::parse(text.begin(), text.end(), std::ref(strict));
    // The second parse only throws, naming the repeated key; its value is not wanted.
    if (strict.repeated()) {
      [[maybe_unused]] const json again = json::parse(text.begin(), text.end(), NameTheRepeatedKey());
    }
    return value;
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
