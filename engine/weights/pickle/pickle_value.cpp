#include "engine/weights/pickle/pickle_value.h"

#include "engine/core/error.h"

namespace moescope::pickle {

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::None:
      return "None";
    case Kind::Bool:
      return "bool";
    case Kind::Int:
      return "int";
    case Kind::Float:
      return "float";
    case Kind::Str:
      return "str";
    case Kind::Bytes:
      return "bytes";
    case Kind::Tuple:
      return "tuple";
    case Kind::List:
      return "list";
    case Kind::Dict:
      return "dict";
    case Kind::Global:
      return "global";
    case Kind::Call:
      return "call";
    case Kind::Object:
      return "object";
    case Kind::PersistentId:
      return "persistent id";
  }
  return "?";
}

const Value* Value::get(std::string_view key) const {
  if (kind != Kind::Dict) return nullptr;
  for (const auto& [k, v] : entries)
    if (k->kind == Kind::Str && k->text == key) return v;
  return nullptr;
}

std::string Value::describe() const {
  switch (kind) {
    case Kind::Bool:
      return boolean ? "bool True" : "bool False";
    case Kind::Int:
      return cat("int ", integer);
    case Kind::Float:
      return cat("float ", real);
    case Kind::Str:
      return text.size() <= 40 ? cat("str '", text, "'") : cat("str of ", text.size(), " bytes");
    case Kind::Bytes:
      return cat("bytes of length ", nbytes);
    case Kind::Tuple:
    case Kind::List:
      return cat(kind_name(kind), " of ", items.size());
    case Kind::Dict:
      return cat("dict of ", entries.size());
    case Kind::Global:
      return cat("global '", text, "'");
    case Kind::Call:
      return cat("call of '", callee->text, "'");
    case Kind::Object:
      return cat("object of class '", callee->text, "'");
    default:
      return kind_name(kind);
  }
}

}  // namespace moescope::pickle
