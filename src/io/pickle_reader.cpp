#include "io/pickle_reader.h"

#include <array>
#include <bit>
#include <cstring>
#include <unordered_map>

#include "core/error.h"

namespace qp {

static_assert(std::endian::native == std::endian::little, "pickle reader assumes a little-endian host");

std::string_view pickle_kind_name(PickleKind kind) {
  static constexpr std::array<std::string_view, 12> names = {"None", "bool",   "int",   "float",
                                                             "str",  "bytes",  "tuple", "list",
                                                             "dict", "global", "call",  "persistent id"};
  return names[static_cast<size_t>(kind)];
}

constexpr size_t kItemsPerByte = 8;  // container items a pickle may build per byte of it

class PickleMachine {
 public:
  PickleMachine(std::span<const std::byte> bytes, const PickleGlobals& allowed, const std::string& what)
      : bytes_(bytes), allowed_(allowed), what_(what) {}

  PickleDocument run();

 private:
  using Handler = void (PickleMachine::*)();
  struct Opcode {
    uint8_t code;
    std::string_view name;
    Handler run;  // nullptr: known to pickle, refused here
  };
  static const std::array<Opcode, 68> kOpcodes;

  template <typename... Parts>
  [[noreturn]] void error(Parts&&... parts) const {
    fail("[pickle] ", what_, ": ", std::forward<Parts>(parts)..., " (opcode at byte ", op_pos_, ")");
  }

  // Input.
  std::span<const std::byte> take(uint64_t n) {
    if (n > bytes_.size() - pos_)
      error("the pickle ends inside an argument (", n, " bytes wanted, ", bytes_.size() - pos_,
            " left); truncated?");
    const auto out = bytes_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  template <typename T>
  T read_le() {
    T value;
    std::memcpy(&value, take(sizeof(T)).data(), sizeof(T));
    return value;
  }
  std::string read_string(uint64_t n) {
    const auto raw = take(n);
    return {reinterpret_cast<const char*>(raw.data()), raw.size()};
  }
  std::string read_line() {
    for (size_t end = pos_; end < bytes_.size(); ++end)
      if (bytes_[end] == std::byte{'\n'}) {
        std::string line = read_string(end - pos_);
        ++pos_;
        return line;
      }
    error("the pickle ends inside a text line; truncated?");
  }

  // Values and the stack.
  PickleValue* make(PickleKind kind) {
    PickleValue& v = doc_.arena_.emplace_back();
    v.kind = kind;
    return &v;
  }
  void push(PickleValue* v) { stack_.push_back(v); }
  PickleValue* pop() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) error("the stack is empty");
    PickleValue* v = stack_.back();
    stack_.pop_back();
    return v;
  }
  PickleValue* top() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) error("the stack is empty");
    return stack_.back();
  }
  std::vector<PickleValue*> pop_to_mark() {
    if (marks_.empty()) error("no MARK on the stack");
    std::vector<PickleValue*> items(stack_.begin() + static_cast<std::ptrdiff_t>(marks_.back()),
                                    stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }
  PickleValue* expect(PickleValue* v, PickleKind kind, std::string_view role) {
    if (v->kind != kind)
      error(role, " is a ", pickle_kind_name(v->kind), ", expected a ", pickle_kind_name(kind));
    return v;
  }
  void push_int(int64_t value) {
    PickleValue* v = make(PickleKind::Int);
    v->integer = value;
    push(v);
  }
  void push_string(PickleKind kind, uint64_t n) {
    PickleValue* v = make(kind);
    v->text = read_string(n);
    push(v);
  }
  // Items put into containers, held to a few per byte of the pickle: a
  // memoised container used again costs two bytes but its items again (a
  // REDUCE copies its argument tuple), which would let a small file ask for
  // terabytes.
  void count_items(size_t n) {
    items_made_ += n;
    if (items_made_ > kItemsPerByte * bytes_.size() + 1024)
      error("the pickle builds more than ", kItemsPerByte, " container items per byte of it (a memoised ",
            "container used again and again?); torch.save writes nothing like that");
  }
  void push_tuple(std::vector<PickleValue*> items) {
    count_items(items.size());
    PickleValue* v = make(PickleKind::Tuple);
    v->items.assign(items.begin(), items.end());
    push(v);
  }
  void push_tuple_of(size_t n) {
    std::vector<PickleValue*> items(n);
    for (size_t i = n; i-- > 0;) items[i] = pop();
    push_tuple(std::move(items));
  }
  void push_global(const std::string& module, const std::string& name) {
    const std::string full = module + "." + name;
    if (!allowed_.count(full))
      error("refusing global '", full,
            "': only the tensor-rebuilding globals torch.save writes are allowed (docs/PYTORCH_BIN.md)");
    PickleValue* v = make(PickleKind::Global);
    v->text = full;
    push(v);
  }
  void memo_put(uint64_t index) { memo_[index] = top(); }
  void memo_get(uint64_t index) {
    const auto it = memo_.find(index);
    if (it == memo_.end()) error("memo slot ", index, " was never stored");
    push(it->second);
  }
  void set_items(PickleValue* dict, const std::vector<PickleValue*>& items) {
    expect(dict, PickleKind::Dict, "the SETITEM target");
    if (items.size() % 2) error("SETITEMS has an odd number of items (", items.size(), ")");
    count_items(items.size());
    dict->items.insert(dict->items.end(), items.begin(), items.end());
  }

  // Opcode handlers.
  void op_proto() {
    const uint8_t version = read_le<uint8_t>();
    if (version > 5) error("pickle protocol ", int(version), " is newer than 5");
  }
  void op_frame() { read_le<uint64_t>(); }  // frames only group opcodes
  void op_mark() { marks_.push_back(stack_.size()); }
  void op_stop() { stopped_ = true; }
  void op_pop() { pop(); }
  void op_none() { push(make(PickleKind::None)); }
  void op_bool(bool value) {
    PickleValue* v = make(PickleKind::Bool);
    v->integer = value;
    push(v);
  }
  void op_true() { op_bool(true); }
  void op_false() { op_bool(false); }
  void op_binint() { push_int(read_le<int32_t>()); }
  void op_binint1() { push_int(read_le<uint8_t>()); }
  void op_binint2() { push_int(read_le<uint16_t>()); }
  void op_long1() {
    const uint8_t n = read_le<uint8_t>();
    if (n > 8) error("LONG1 integer of ", int(n), " bytes does not fit 64 bits");
    const auto raw = take(n);
    uint64_t value = 0;
    for (size_t i = 0; i < n; ++i) value |= static_cast<uint64_t>(raw[i]) << (8 * i);
    if (n > 0 && n < 8 && (static_cast<uint8_t>(raw[n - 1]) & 0x80)) value |= ~uint64_t{0} << (8 * n);
    push_int(static_cast<int64_t>(value));
  }
  void op_binfloat() {
    uint64_t bits = 0;
    for (std::byte b : take(8)) bits = (bits << 8) | static_cast<uint8_t>(b);  // big-endian
    PickleValue* v = make(PickleKind::Float);
    v->real = std::bit_cast<double>(bits);
    push(v);
  }
  void op_short_binunicode() { push_string(PickleKind::String, read_le<uint8_t>()); }
  void op_binunicode() { push_string(PickleKind::String, read_le<uint32_t>()); }
  void op_binunicode8() { push_string(PickleKind::String, read_le<uint64_t>()); }
  void op_short_binbytes() { push_string(PickleKind::Bytes, read_le<uint8_t>()); }
  void op_binbytes() { push_string(PickleKind::Bytes, read_le<uint32_t>()); }
  void op_empty_tuple() { push_tuple({}); }
  void op_tuple() { push_tuple(pop_to_mark()); }
  void op_tuple1() { push_tuple_of(1); }
  void op_tuple2() { push_tuple_of(2); }
  void op_tuple3() { push_tuple_of(3); }
  void op_empty_list() { push(make(PickleKind::List)); }
  void op_empty_dict() { push(make(PickleKind::Dict)); }
  void op_append() {
    PickleValue* item = pop();
    count_items(1);
    expect(top(), PickleKind::List, "the APPEND target")->items.push_back(item);
  }
  void op_appends() {
    const std::vector<PickleValue*> items = pop_to_mark();
    PickleValue* list = expect(top(), PickleKind::List, "the APPENDS target");
    count_items(items.size());
    list->items.insert(list->items.end(), items.begin(), items.end());
  }
  void op_setitem() {
    PickleValue* value = pop();
    PickleValue* key = pop();
    set_items(top(), {key, value});
  }
  void op_setitems() {
    const std::vector<PickleValue*> items = pop_to_mark();
    set_items(top(), items);
  }
  void op_binput() { memo_put(read_le<uint8_t>()); }
  void op_long_binput() { memo_put(read_le<uint32_t>()); }
  void op_memoize() { memo_put(memo_.size()); }
  void op_binget() { memo_get(read_le<uint8_t>()); }
  void op_long_binget() { memo_get(read_le<uint32_t>()); }
  void op_global() {
    const std::string module = read_line();
    const std::string name = read_line();
    push_global(module, name);
  }
  void op_stack_global() {
    const PickleValue* name = expect(pop(), PickleKind::String, "the STACK_GLOBAL name");
    const PickleValue* module = expect(pop(), PickleKind::String, "the STACK_GLOBAL module");
    push_global(module->text, name->text);
  }
  void op_binpersid() {
    PickleValue* v = make(PickleKind::PersistentId);
    v->items.push_back(pop());
    push(v);
  }
  void op_reduce() {
    const PickleValue* args = expect(pop(), PickleKind::Tuple, "the REDUCE argument");
    const PickleValue* callee = expect(pop(), PickleKind::Global, "the REDUCE callee");
    switch (allowed_.find(callee->text)->second) {
      case GlobalUse::Reference:
        error("global '", callee->text, "' may not be called");
      case GlobalUse::EmptyDict:
        if (!args->items.empty()) error("'", callee->text, "' is called with arguments");
        push(make(PickleKind::Dict));
        return;
      case GlobalUse::Call: {
        PickleValue* v = make(PickleKind::Call);
        v->text = callee->text;
        count_items(args->items.size());
        v->items = args->items;
        push(v);
        return;
      }
    }
  }
  // BUILD sets an object's state. Only a dict may take one (torch gives its
  // OrderedDict a '_metadata' attribute); the state is dropped, it holds no tensor.
  void op_build() {
    pop();
    expect(top(), PickleKind::Dict, "the BUILD target");
  }

  std::span<const std::byte> bytes_;
  const PickleGlobals& allowed_;
  const std::string& what_;
  size_t pos_ = 0;
  size_t op_pos_ = 0;
  size_t items_made_ = 0;
  bool stopped_ = false;
  std::vector<PickleValue*> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, PickleValue*> memo_;
  PickleDocument doc_;
};

// Every opcode of pickle protocols 0-5, so a refusal can name it.
const std::array<PickleMachine::Opcode, 68> PickleMachine::kOpcodes = {{
    {'(', "MARK", &PickleMachine::op_mark},
    {'.', "STOP", &PickleMachine::op_stop},
    {'0', "POP", &PickleMachine::op_pop},
    {'1', "POP_MARK", nullptr},
    {'2', "DUP", nullptr},
    {'F', "FLOAT", nullptr},
    {'I', "INT", nullptr},
    {'J', "BININT", &PickleMachine::op_binint},
    {'K', "BININT1", &PickleMachine::op_binint1},
    {'L', "LONG", nullptr},
    {'M', "BININT2", &PickleMachine::op_binint2},
    {'N', "NONE", &PickleMachine::op_none},
    {'P', "PERSID", nullptr},
    {'Q', "BINPERSID", &PickleMachine::op_binpersid},
    {'R', "REDUCE", &PickleMachine::op_reduce},
    {'S', "STRING", nullptr},
    {'T', "BINSTRING", nullptr},
    {'U', "SHORT_BINSTRING", nullptr},
    {'V', "UNICODE", nullptr},
    {'X', "BINUNICODE", &PickleMachine::op_binunicode},
    {'a', "APPEND", &PickleMachine::op_append},
    {'b', "BUILD", &PickleMachine::op_build},
    {'c', "GLOBAL", &PickleMachine::op_global},
    {'d', "DICT", nullptr},
    {'}', "EMPTY_DICT", &PickleMachine::op_empty_dict},
    {'e', "APPENDS", &PickleMachine::op_appends},
    {'g', "GET", nullptr},
    {'h', "BINGET", &PickleMachine::op_binget},
    {'i', "INST", nullptr},
    {'j', "LONG_BINGET", &PickleMachine::op_long_binget},
    {'l', "LIST", nullptr},
    {']', "EMPTY_LIST", &PickleMachine::op_empty_list},
    {'o', "OBJ", nullptr},
    {'p', "PUT", nullptr},
    {'q', "BINPUT", &PickleMachine::op_binput},
    {'r', "LONG_BINPUT", &PickleMachine::op_long_binput},
    {'s', "SETITEM", &PickleMachine::op_setitem},
    {'t', "TUPLE", &PickleMachine::op_tuple},
    {')', "EMPTY_TUPLE", &PickleMachine::op_empty_tuple},
    {'u', "SETITEMS", &PickleMachine::op_setitems},
    {'G', "BINFLOAT", &PickleMachine::op_binfloat},
    {0x80, "PROTO", &PickleMachine::op_proto},
    {0x81, "NEWOBJ", nullptr},
    {0x82, "EXT1", nullptr},
    {0x83, "EXT2", nullptr},
    {0x84, "EXT4", nullptr},
    {0x85, "TUPLE1", &PickleMachine::op_tuple1},
    {0x86, "TUPLE2", &PickleMachine::op_tuple2},
    {0x87, "TUPLE3", &PickleMachine::op_tuple3},
    {0x88, "NEWTRUE", &PickleMachine::op_true},
    {0x89, "NEWFALSE", &PickleMachine::op_false},
    {0x8a, "LONG1", &PickleMachine::op_long1},
    {0x8b, "LONG4", nullptr},
    {'B', "BINBYTES", &PickleMachine::op_binbytes},
    {'C', "SHORT_BINBYTES", &PickleMachine::op_short_binbytes},
    {0x8c, "SHORT_BINUNICODE", &PickleMachine::op_short_binunicode},
    {0x8d, "BINUNICODE8", &PickleMachine::op_binunicode8},
    {0x8e, "BINBYTES8", nullptr},
    {0x8f, "EMPTY_SET", nullptr},
    {0x90, "ADDITEMS", nullptr},
    {0x91, "FROZENSET", nullptr},
    {0x92, "NEWOBJ_EX", nullptr},
    {0x93, "STACK_GLOBAL", &PickleMachine::op_stack_global},
    {0x94, "MEMOIZE", &PickleMachine::op_memoize},
    {0x95, "FRAME", &PickleMachine::op_frame},
    {0x96, "BYTEARRAY8", nullptr},
    {0x97, "NEXT_BUFFER", nullptr},
    {0x98, "READONLY_BUFFER", nullptr},
}};

PickleDocument PickleMachine::run() {
  std::array<const Opcode*, 256> by_code{};
  for (const Opcode& op : kOpcodes) by_code[op.code] = &op;
  while (!stopped_) {
    op_pos_ = pos_;
    if (pos_ >= bytes_.size()) error("the pickle ends without STOP; truncated?");
    const uint8_t code = static_cast<uint8_t>(bytes_[pos_++]);
    const Opcode* op = by_code[code];
    if (!op) error("byte 0x", std::hex, int(code), std::dec, " is not a pickle opcode");
    if (!op->run) error("opcode ", op->name, " is not allowed (it is not one torch.save writes for tensors)");
    (this->*op->run)();
  }
  doc_.root_ = pop();
  return std::move(doc_);
}

PickleDocument read_pickle(std::span<const std::byte> bytes, const PickleGlobals& allowed,
                           const std::string& what) {
  return PickleMachine(bytes, allowed, what).run();
}

}  // namespace qp
