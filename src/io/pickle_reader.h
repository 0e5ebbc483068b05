// A pickle reader that executes nothing. Python's pickle is a small stack
// machine whose GLOBAL + REDUCE opcodes call any function by name, which is
// how a downloaded pytorch_model.bin can run code (os.system, eval, ...). This
// reader builds plain values instead: a GLOBAL is accepted only when the
// caller's allow-list names it, REDUCE never calls anything (it records the
// callee and its arguments for the caller to interpret, or makes an empty
// dict for collections.OrderedDict), and opcodes outside the small set torch
// writes (protocol 2, plus the protocol 3/4 framing and strings) are refused,
// each error naming the opcode or global and its byte offset.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace qp {

enum class PickleKind : uint8_t {
  None,
  Bool,
  Int,
  Float,
  String,
  Bytes,
  Tuple,
  List,
  Dict,
  Global,
  Call,
  PersistentId
};

std::string_view pickle_kind_name(PickleKind kind);

struct PickleValue {
  PickleKind kind = PickleKind::None;
  int64_t integer = 0;  // Int; Bool as 0/1
  double real = 0;      // Float
  std::string text;     // String, Bytes; Global and Call: "module.name"
  // Tuple, List, Call (its arguments), PersistentId (the one id value);
  // Dict: key, value, key, value, ... in insertion order.
  std::vector<const PickleValue*> items;
};

// What a pickle may do with an allowed global.
enum class GlobalUse : uint8_t {
  Reference,  // appear as a value only (a storage type inside a persistent id)
  Call,       // REDUCE gives a Call value {callee, arguments}; nothing runs
  EmptyDict,  // REDUCE with no arguments gives an empty Dict (collections.OrderedDict)
};
using PickleGlobals = std::map<std::string, GlobalUse, std::less<>>;

class PickleDocument {
 public:
  const PickleValue& root() const { return *root_; }

 private:
  friend class PickleMachine;
  std::deque<PickleValue> arena_;  // every value; a deque keeps their addresses
  const PickleValue* root_ = nullptr;
};

// Runs the opcodes of `bytes` up to STOP; throws "[pickle] <what>: <problem>
// at byte N" for a global not in `allowed`, an unsupported opcode, or
// malformed input.
PickleDocument read_pickle(std::span<const std::byte> bytes, const PickleGlobals& allowed,
                           const std::string& what);

}  // namespace qp
