// The opcode interpreter. Each opcode either pushes a value, combines values on the stack into a
// container, or records a call/instantiation the policy allows. The text opcodes of protocols 0
// and 1, extension codes, sets and out-of-band buffers never occur in the files we read and are
// refused like a forbidden global.
#include "engine/weights/pickle/pickle_reader.h"

#include <cstring>
#include <unordered_map>

#include "engine/core/error.h"

namespace moescope::pickle {

namespace {

const char* opcode_name(uint8_t op) {
  static const struct {
    uint8_t op;
    const char* name;
  } kNames[] = {
      {'(', "MARK"},
      {'.', "STOP"},
      {'0', "POP"},
      {'1', "POP_MARK"},
      {'2', "DUP"},
      {'F', "FLOAT"},
      {'I', "INT"},
      {'J', "BININT"},
      {'K', "BININT1"},
      {'L', "LONG"},
      {'M', "BININT2"},
      {'N', "NONE"},
      {'P', "PERSID"},
      {'Q', "BINPERSID"},
      {'R', "REDUCE"},
      {'S', "STRING"},
      {'T', "BINSTRING"},
      {'U', "SHORT_BINSTRING"},
      {'V', "UNICODE"},
      {'X', "BINUNICODE"},
      {'a', "APPEND"},
      {'b', "BUILD"},
      {'c', "GLOBAL"},
      {'d', "DICT"},
      {'}', "EMPTY_DICT"},
      {'e', "APPENDS"},
      {'g', "GET"},
      {'h', "BINGET"},
      {'i', "INST"},
      {'j', "LONG_BINGET"},
      {'l', "LIST"},
      {']', "EMPTY_LIST"},
      {'o', "OBJ"},
      {'p', "PUT"},
      {'q', "BINPUT"},
      {'r', "LONG_BINPUT"},
      {'s', "SETITEM"},
      {'t', "TUPLE"},
      {')', "EMPTY_TUPLE"},
      {'u', "SETITEMS"},
      {'G', "BINFLOAT"},
      {'B', "BINBYTES"},
      {'C', "SHORT_BINBYTES"},
      {0x80, "PROTO"},
      {0x81, "NEWOBJ"},
      {0x82, "EXT1"},
      {0x83, "EXT2"},
      {0x84, "EXT4"},
      {0x85, "TUPLE1"},
      {0x86, "TUPLE2"},
      {0x87, "TUPLE3"},
      {0x88, "NEWTRUE"},
      {0x89, "NEWFALSE"},
      {0x8a, "LONG1"},
      {0x8b, "LONG4"},
      {0x8c, "SHORT_BINUNICODE"},
      {0x8d, "BINUNICODE8"},
      {0x8e, "BINBYTES8"},
      {0x8f, "EMPTY_SET"},
      {0x90, "ADDITEMS"},
      {0x91, "FROZENSET"},
      {0x92, "NEWOBJ_EX"},
      {0x93, "STACK_GLOBAL"},
      {0x94, "MEMOIZE"},
      {0x95, "FRAME"},
      {0x96, "BYTEARRAY8"},
      {0x97, "NEXT_BUFFER"},
      {0x98, "READONLY_BUFFER"},
  };
  for (const auto& n : kNames)
    if (n.op == op) return n.name;
  return nullptr;
}

class Reader {
 public:
  Reader(const uint8_t* data, size_t size, const std::string& file, const PicklePolicy& policy,
         size_t base)
      : p_(data), size_(size), policy_(policy), base_(base) {
    doc_ = std::make_unique<PickleDocument>();
    doc_->file = file;
  }

  std::unique_ptr<PickleDocument> run() {
    if (size_ == 0) fail(doc_->file, ": empty file (expected a ", policy_.what, ")");
    if (p_[0] != 0x80)
      fail(doc_->file, ": byte offset ", base_, ": not a pickle of protocol 2-5 (first byte 0x",
           hex(p_[0]), ", expected the PROTO opcode 0x80) - expected a ", policy_.what);
    while (true) {
      if (pos_ >= size_)
        fail(doc_->file, ": truncated at byte offset ", base_ + size_,
             ": the pickle ends without a STOP opcode (file cut short?)");
      op_at_ = pos_;
      op_ = p_[pos_++];
      if (op_ == '.') break;
      step();
    }
    if (stack_.size() != 1 || !marks_.empty())
      error("STOP leaves ", stack_.size(), " values and ", marks_.size(),
            " marks on the stack, expected exactly one value (malformed pickle)");
    doc_->root = stack_.back();
    return std::move(doc_);
  }

 private:
  static std::string hex(unsigned v) {
    static const char* d = "0123456789abcdef";
    return std::string{d[(v >> 4) & 15], d[v & 15]};
  }

  std::string op_label() const {
    const char* n = opcode_name(op_);
    return cat(n ? n : "unknown opcode", " (0x", hex(op_), ")");
  }

  template <typename... Args>
  [[noreturn]] void error(Args&&... args) const {
    fail(doc_->file, ": byte offset ", base_ + op_at_, ": ", op_label(), ": ",
         std::forward<Args>(args)...);
  }

  // Makes sure n more bytes follow the current position.
  void need(uint64_t n) const {
    if (uint64_t(size_ - pos_) < n)
      fail(doc_->file, ": truncated at byte offset ", base_ + size_, ": ", op_label(),
           " at byte offset ", base_ + op_at_, " needs ", n, " bytes after byte offset ",
           base_ + pos_, " but only ", size_ - pos_, " remain (file cut short?)");
  }
  uint64_t read_le(int n) {
    need(uint64_t(n));
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | p_[pos_ + size_t(i)];
    pos_ += size_t(n);
    return v;
  }
  const uint8_t* take(uint64_t n) {
    need(n);
    const uint8_t* at = p_ + pos_;
    pos_ += size_t(n);
    return at;
  }
  std::string read_line() {
    size_t start = pos_;
    while (pos_ < size_ && p_[pos_] != '\n') {
      if (pos_ - start > 1024) error("line longer than 1024 bytes (malformed pickle)");
      ++pos_;
    }
    need(1);
    std::string s(reinterpret_cast<const char*>(p_ + start), pos_ - start);
    ++pos_;
    return s;
  }

  Value* make(Kind k) { return doc_->make(k, base_ + op_at_); }
  void push(Value* v) { stack_.push_back(v); }
  Value* pop() {
    if (stack_.size() <= floor()) error("stack underflow (malformed pickle)");
    Value* v = stack_.back();
    stack_.pop_back();
    return v;
  }
  Value* top() {
    if (stack_.size() <= floor()) error("stack underflow (malformed pickle)");
    return stack_.back();
  }
  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  // Pops everything above the last MARK, and the mark.
  std::vector<Value*> pop_mark() {
    if (marks_.empty()) error("no MARK on the stack (malformed pickle)");
    size_t m = marks_.back();
    marks_.pop_back();
    std::vector<Value*> items(stack_.begin() + long(m), stack_.end());
    stack_.resize(m);
    return items;
  }

  Value* make_str(const uint8_t* s, uint64_t n) {
    Value* v = make(Kind::Str);
    v->text.assign(reinterpret_cast<const char*>(s), size_t(n));
    return v;
  }
  Value* make_bytes(const uint8_t* s, uint64_t n) {
    Value* v = make(Kind::Bytes);
    v->bytes = s;
    v->nbytes = size_t(n);
    return v;
  }
  Value* make_tuple(std::vector<Value*> items) {
    Value* v = make(Kind::Tuple);
    v->items = std::move(items);
    return v;
  }
  Value* make_int(int64_t i) {
    Value* v = make(Kind::Int);
    v->integer = i;
    return v;
  }
  // A little-endian two's-complement integer of n bytes (LONG1 / LONG4).
  Value* make_long(uint64_t n) {
    if (n > 8) error("integer of ", n, " bytes does not fit 64 bits");
    const uint8_t* b = take(n);
    uint64_t u = 0;
    for (uint64_t i = n; i > 0; --i) u = (u << 8) | b[i - 1];
    if (n > 0 && n < 8 && (b[n - 1] & 0x80)) u |= ~uint64_t(0) << (8 * n);  // sign-extend
    return make_int(int64_t(u));
  }

  Value* make_global(const std::string& module, const std::string& name) {
    std::string qualified = module + "." + name;
    const AllowedGlobal* g = policy_.find(qualified);
    if (!g)
      error("global '", qualified, "' is not allowed in a ", policy_.what,
            " (allowed: ", policy_.allowed_list(), ")");
    Value* v = make(Kind::Global);
    v->module = module;
    v->name = name;
    v->text = std::move(qualified);
    return v;
  }

  void memo_put(uint64_t index) {
    if (stack_.empty()) error("nothing on the stack to memoize (malformed pickle)");
    memo_[index] = stack_.back();
  }
  void memo_get(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) error("memo entry ", index, " was never stored (malformed pickle)");
    push(it->second);
  }

  void refuse(const char* why) { error("not allowed in a ", policy_.what, " (", why, ")"); }

  void reduce() {
    Value* args = pop();
    Value* callee = pop();
    if (!callee->is(Kind::Global))
      error("calls a ", callee->describe(), " (only allowed globals may be called)");
    const AllowedGlobal* g = policy_.find(callee->text);
    if (!args->is(Kind::Tuple)) error("arguments of '", callee->text, "' are not a tuple");
    if (g->use == Use::EmptyDict) {
      if (!args->items.empty())
        error("'", callee->text, "' may only be called without arguments (gives an empty dict)");
      push(make(Kind::Dict));
      return;
    }
    if (g->use != Use::Callable)
      error("global '", callee->text, "' may not be called in a ", policy_.what,
            " (callable: ", callables(), ")");
    Value* v = make(Kind::Call);
    v->callee = callee;
    v->args = args;
    push(v);
  }

  std::string callables() const {
    std::string out;
    for (const AllowedGlobal& g : policy_.globals)
      if (g.use == Use::Callable || g.use == Use::EmptyDict)
        out += (out.empty() ? "" : ", ") + g.qualified;
    return out;
  }

  void newobj(Value* cls, Value* args) {
    if (!cls->is(Kind::Global))
      error("instantiates a ", cls->describe(), " (only allowed classes may be instantiated)");
    if (policy_.find(cls->text)->use != Use::Class)
      error("class '", cls->text, "' may not be instantiated in a ", policy_.what);
    if (!args->is(Kind::Tuple)) error("arguments of '", cls->text, "' are not a tuple");
    Value* v = make(Kind::Object);
    v->callee = cls;
    v->args = args;
    push(v);
  }

  void build() {
    Value* state = pop();
    Value* target = top();
    if (!target->is(Kind::Call) && !target->is(Kind::Object))
      error("sets the state of a ", target->describe(), " (only recorded calls and objects)");
    if (target->state)
      error("sets the state of '", target->callee->text, "' twice (malformed pickle)");
    target->state = state;
  }

  void setitems(const std::vector<Value*>& kv, Value* dict) {
    if (!dict->is(Kind::Dict)) error("stores items into a ", dict->describe(), ", not a dict");
    if (kv.size() % 2 != 0) error("odd number of keys and values (malformed pickle)");
    for (size_t i = 0; i < kv.size(); i += 2) dict->entries.emplace_back(kv[i], kv[i + 1]);
  }

  void appends(const std::vector<Value*>& items, Value* list) {
    if (!list->is(Kind::List)) error("appends to a ", list->describe(), ", not a list");
    list->items.insert(list->items.end(), items.begin(), items.end());
  }

  void step() {
    switch (op_) {
      case 0x80: {  // PROTO
        uint64_t v = read_le(1);
        if (v < 2 || v > 5) error("pickle protocol ", v, " is not supported (expected 2 to 5)");
        return;
      }
      case 0x95:  // FRAME: a length hint; the opcodes inside are read like any others
        read_le(8);
        return;
      case '(':
        marks_.push_back(stack_.size());
        return;
      case '0':
        pop();
        return;
      case '1':
        pop_mark();
        return;
      case '2':
        push(top());
        return;
      case 'N':
        push(make(Kind::None));
        return;
      case 0x88:
      case 0x89: {
        Value* v = make(Kind::Bool);
        v->boolean = op_ == 0x88;
        push(v);
        return;
      }
      case 'J':
        push(make_int(int32_t(uint32_t(read_le(4)))));
        return;
      case 'K':
        push(make_int(int64_t(read_le(1))));
        return;
      case 'M':
        push(make_int(int64_t(read_le(2))));
        return;
      case 0x8a:
        push(make_long(read_le(1)));
        return;
      case 0x8b:
        push(make_long(read_le(4)));
        return;
      case 'G': {
        uint64_t bits = 0;
        const uint8_t* b = take(8);
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | b[i];  // big-endian
        Value* v = make(Kind::Float);
        std::memcpy(&v->real, &bits, 8);
        push(v);
        return;
      }
      case 'X': {
        uint64_t n = read_le(4);
        push(make_str(take(n), n));
        return;
      }
      case 0x8c: {
        uint64_t n = read_le(1);
        push(make_str(take(n), n));
        return;
      }
      case 0x8d: {
        uint64_t n = read_le(8);
        push(make_str(take(n), n));
        return;
      }
      case 'B': {
        uint64_t n = read_le(4);
        push(make_bytes(take(n), n));
        return;
      }
      case 'C': {
        uint64_t n = read_le(1);
        push(make_bytes(take(n), n));
        return;
      }
      case 0x8e:
      case 0x96: {  // BINBYTES8, BYTEARRAY8 (in-band protocol 5 buffers)
        uint64_t n = read_le(8);
        push(make_bytes(take(n), n));
        return;
      }
      case ')':
        push(make_tuple({}));
        return;
      case 't':
        push(make_tuple(pop_mark()));
        return;
      case 0x85:
      case 0x86:
      case 0x87: {
        size_t n = size_t(op_ - 0x84);
        std::vector<Value*> items(n);
        for (size_t i = n; i > 0; --i) items[i - 1] = pop();
        push(make_tuple(std::move(items)));
        return;
      }
      case ']':
        push(make(Kind::List));
        return;
      case 'l': {
        Value* v = make(Kind::List);
        v->items = pop_mark();
        push(v);
        return;
      }
      case 'a': {
        Value* item = pop();
        appends({item}, top());
        return;
      }
      case 'e': {
        std::vector<Value*> items = pop_mark();
        appends(items, top());
        return;
      }
      case '}':
        push(make(Kind::Dict));
        return;
      case 'd': {
        std::vector<Value*> kv = pop_mark();
        Value* v = make(Kind::Dict);
        setitems(kv, v);
        push(v);
        return;
      }
      case 's': {
        Value* value = pop();
        Value* key = pop();
        setitems({key, value}, top());
        return;
      }
      case 'u': {
        std::vector<Value*> kv = pop_mark();
        setitems(kv, top());
        return;
      }
      case 'c': {
        std::string module = read_line();
        std::string name = read_line();
        push(make_global(module, name));
        return;
      }
      case 0x93: {
        Value* name = pop();
        Value* module = pop();
        if (!module->is(Kind::Str) || !name->is(Kind::Str))
          error("module and name must be strings, got ", module->describe(), " and ",
                name->describe());
        push(make_global(module->text, name->text));
        return;
      }
      case 'R':
        reduce();
        return;
      case 0x81: {
        Value* args = pop();
        Value* cls = pop();
        newobj(cls, args);
        return;
      }
      case 0x92: {
        Value* kwargs = pop();
        Value* args = pop();
        Value* cls = pop();
        if (!kwargs->is(Kind::Dict) || !kwargs->entries.empty())
          error("keyword arguments are not allowed in a ", policy_.what);
        newobj(cls, args);
        return;
      }
      case 'b':
        build();
        return;
      case 'q':
        memo_put(read_le(1));
        return;
      case 'r':
        memo_put(read_le(4));
        return;
      case 0x94:
        memo_put(memo_.size());
        return;
      case 'h':
        memo_get(read_le(1));
        return;
      case 'j':
        memo_get(read_le(4));
        return;
      case 'Q': {
        if (!policy_.persistent_ids) refuse("persistent ids are not used by this format");
        Value* v = make(Kind::PersistentId);
        v->args = pop();
        push(v);
        return;
      }
      case 'P':
        refuse("text persistent ids");
        return;
      case 'i':
      case 'o':
        refuse("protocol 0/1 class instantiation");
        return;
      case 0x82:
      case 0x83:
      case 0x84:
        refuse("extension registry codes");
        return;
      case 0x8f:
      case 0x90:
      case 0x91:
        refuse("sets");
        return;
      case 0x97:
      case 0x98:
        refuse("out-of-band buffers");
        return;
      case 'F':
      case 'I':
      case 'L':
      case 'S':
      case 'T':
      case 'U':
      case 'V':
      case 'g':
      case 'p':
        refuse("text opcodes of protocols 0 and 1");
        return;
      default:
        error("unknown opcode (corrupt file or not a pickle)");
    }
  }

  const uint8_t* p_;
  size_t size_;
  const PicklePolicy& policy_;
  size_t base_;
  size_t pos_ = 0;
  size_t op_at_ = 0;
  uint8_t op_ = 0;
  std::unique_ptr<PickleDocument> doc_;
  std::vector<Value*> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Value*> memo_;
};

}  // namespace

std::unique_ptr<PickleDocument> read_pickle(const uint8_t* data, size_t size,
                                            const std::string& file, const PicklePolicy& policy,
                                            size_t base_offset) {
  return Reader(data, size, file, policy, base_offset).run();
}

}  // namespace moescope::pickle
