// The value tree a restricted pickle reader builds: plain data, plus inert records of the calls
// and objects the pickle asks for. Nothing is ever called; a format reader (numpy_array.h,
// torch_checkpoint.cpp) interprets the records it knows and refuses the rest.
//
// Values live in a PickleDocument's arena and point at each other with plain pointers, so a
// pickle whose memo makes a cycle (a list that contains itself) is still freed in one piece.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace moescope::pickle {

enum class Kind : uint8_t {
  None,
  Bool,
  Int,
  Float,
  Str,
  Bytes,  // a view into the pickle's buffer (or owned, see Value::owned)
  Tuple,
  List,
  Dict,
  Global,        // module.name, from GLOBAL / STACK_GLOBAL, checked against the allow-list
  Call,          // REDUCE: callee (a Global) applied to args (a Tuple), plus BUILD state
  Object,        // NEWOBJ: an instance of callee (a Global class) with args, plus BUILD state
  PersistentId,  // PERSID / BINPERSID: args holds the id value
};

const char* kind_name(Kind k);

struct Value {
  Kind kind = Kind::None;
  size_t offset = 0;  // byte offset of the opcode that produced it, for error messages

  bool boolean = false;
  int64_t integer = 0;
  double real = 0.0;
  std::string text;                // Str; Global: the qualified name "module.name"
  std::string module;              // Global
  std::string name;                // Global
  const uint8_t* bytes = nullptr;  // Bytes
  size_t nbytes = 0;               // Bytes
  std::string owned;               // Bytes that had to be built (bytes points into it)
  std::vector<Value*> items;       // Tuple, List
  std::vector<std::pair<Value*, Value*>> entries;  // Dict, in insertion order
  Value* callee = nullptr;                         // Call, Object
  Value* args = nullptr;                           // Call, Object, PersistentId
  Value* state = nullptr;                          // Call, Object: set by BUILD

  bool is(Kind k) const { return kind == k; }
  bool is_global(std::string_view qualified) const {
    return kind == Kind::Global && text == qualified;
  }
  // Call or Object whose callee is the global called qualified.
  bool is_call_of(std::string_view qualified) const {
    return (kind == Kind::Call || kind == Kind::Object) && callee && callee->is_global(qualified);
  }
  // The value stored under the string key in a Dict, or null.
  const Value* get(std::string_view key) const;
  // A short description for messages: "str 'f4'", "tuple of 3", "call of numpy.dtype".
  std::string describe() const;
  std::string_view view() const { return {reinterpret_cast<const char*>(bytes), nbytes}; }
};

struct PickleDocument {
  std::string file;  // for messages
  std::deque<Value> arena;
  const Value* root = nullptr;

  Value* make(Kind kind, size_t offset) {
    Value& v = arena.emplace_back();
    v.kind = kind;
    v.offset = offset;
    return &v;
  }
};

}  // namespace moescope::pickle
