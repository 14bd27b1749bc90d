#include "engine/weights/torch/torch_bin.h"

#include <cstring>
#include <optional>

#include "engine/core/error.h"
#include "engine/weights/pickle/pickle_reader.h"

namespace moescope {

namespace {

using kernels::DType;
using pickle::Kind;
using pickle::Value;

std::optional<DType> storage_dtype(const std::string& qualified) {
  if (qualified == "torch.FloatStorage") return DType::F32;
  if (qualified == "torch.BFloat16Storage") return DType::BF16;
  if (qualified == "torch.HalfStorage") return DType::F16;
  if (qualified == "torch.CharStorage") return DType::I8;
  if (qualified == "torch.ByteStorage") return DType::U8;
  if (qualified == "torch.IntStorage") return DType::I32;
  if (qualified == "torch.LongStorage") return DType::I64;
  return std::nullopt;
}

class BinReader {
 public:
  explicit BinReader(const std::string& path) : path_(path) {}

  TorchBin read() {
    out_.archive = ZipArchive::open(path_, "torch .bin checkpoint");
    const ZipArchive& z = *out_.archive;
    // torch.save names every entry "<archive name>/..." and the pickle "<archive name>/data.pkl".
    const ZipArchive::Entry* pkl = nullptr;
    for (const ZipArchive::Entry& e : z.entries()) {
      const std::string& n = e.name;
      if (n == "data.pkl" || (n.size() > 9 && n.compare(n.size() - 9, 9, "/data.pkl") == 0 &&
                              n.find('/') == n.size() - 9)) {
        if (pkl)
          fail(path_, ": archive holds two pickles ('", pkl->name, "' and '", n,
               "'); expected one <name>/data.pkl");
        pkl = &e;
      }
    }
    if (!pkl)
      fail(path_,
           ": archive has no <name>/data.pkl entry (not a torch.save checkpoint, or one "
           "from torch < 1.6, which is not supported)");
    prefix_ = pkl->name.substr(0, pkl->name.size() - 8);
    auto doc = pickle::read_pickle(pkl->data, pkl->size, path_ + ":" + pkl->name,
                                   pickle::torch_policy(), pkl->offset);
    const Value& root = *doc->root;
    if (!root.is(Kind::Dict))
      fail(path_, ": ", pkl->name, " holds a ", root.describe(),
           ", expected a state dict {name: tensor}");
    for (const auto& [key, value] : root.entries) {
      if (!key->is(Kind::Str))
        fail(path_, ": state dict key ", key->describe(), " is not a string");
      out_.tensors.push_back(tensor(key->text, *value));
    }
    return std::move(out_);
  }

 private:
  template <typename... Args>
  [[noreturn]] void bad(const std::string& name, const Value& at, Args&&... args) const {
    fail(path_, ": tensor '", name, "' (byte offset ", at.offset,
         "): ", std::forward<Args>(args)...);
  }

  int64_t integer(const std::string& name, const Value& v, const char* what) const {
    if (!v.is(Kind::Int)) bad(name, v, what, " must be an integer, got ", v.describe());
    return v.integer;
  }

  std::vector<int64_t> ints(const std::string& name, const Value& v, const char* what) const {
    if (!v.is(Kind::Tuple)) bad(name, v, what, " must be a tuple, got ", v.describe());
    std::vector<int64_t> out;
    for (const Value* d : v.items) out.push_back(integer(name, *d, what));
    return out;
  }

  TensorView tensor(const std::string& name, const Value& v) {
    if (!v.is(Kind::Call) || !v.is_call_of("torch._utils._rebuild_tensor_v2"))
      bad(name, v, "expected a tensor (_rebuild_tensor_v2), got ", v.describe());
    if (v.state) bad(name, v, "tensor must not receive a state");
    const std::vector<Value*>& a = v.args->items;
    if (a.size() != 6 && a.size() != 7)
      bad(name, v, "_rebuild_tensor_v2 takes 6 or 7 arguments, got ", a.size());
    // Persistent id: ('storage', storage type, key, location, numel).
    const Value& pid = *a[0];
    if (!pid.is(Kind::PersistentId) || !pid.args->is(Kind::Tuple) || pid.args->items.size() != 5)
      bad(name, pid, "storage must be a persistent id ('storage', type, key, location, numel)");
    const std::vector<Value*>& p = pid.args->items;
    if (!p[0]->is(Kind::Str) || p[0]->text != "storage")
      bad(name, *p[0], "persistent id must start with 'storage', got ", p[0]->describe());
    if (!p[1]->is(Kind::Global)) bad(name, *p[1], "storage type is ", p[1]->describe());
    std::optional<DType> dtype = storage_dtype(p[1]->text);
    if (!dtype) bad(name, *p[1], "storage type '", p[1]->text, "' is not supported");
    if (!p[2]->is(Kind::Str)) bad(name, *p[2], "storage key must be a string");
    const int64_t numel = integer(name, *p[4], "storage size");
    const int64_t offset = integer(name, *a[1], "storage offset");
    const std::vector<int64_t> size = ints(name, *a[2], "size");
    const std::vector<int64_t> stride = ints(name, *a[3], "stride");
    if (!a[4]->is(Kind::Bool)) bad(name, *a[4], "requires_grad must be a bool");
    if (!a[5]->is(Kind::Dict) || !a[5]->entries.empty())
      bad(name, *a[5], "backward hooks must be an empty dict");
    if (size.size() != stride.size())
      bad(name, *a[3], "size ", size.size(), " dims but stride ", stride.size());

    const std::string entry_name = prefix_ + "data/" + p[2]->text;
    const ZipArchive::Entry* entry = out_.archive->find(entry_name);
    if (!entry)
      bad(name, *p[2], "storage '", p[2]->text, "' has no entry '", entry_name, "' in the archive");
    const size_t el = kernels::dtype_size(*dtype);
    if (numel < 0 || uint64_t(numel) * el != entry->size)
      bad(name, pid, "storage '", entry_name, "' is ", entry->size, " bytes, but its ",
          kernels::dtype_name(*dtype), " size of ", numel, " elements needs ", numel * int64_t(el));

    TensorView t;
    t.name = name;
    t.dtype = *dtype;
    t.shape = size;
    t.file = path_;
    int64_t expect = 1, count = 1;
    for (size_t d = size.size(); d > 0; --d) {
      if (size[d - 1] < 0) bad(name, *a[2], "negative size");
      if (size[d - 1] != 1 && stride[d - 1] != expect)
        bad(name, *a[3], "tensor is not contiguous (size ", t.shape_string(), ", stride ",
            a[3]->describe(), "); save it with .contiguous()");
      expect *= size[d - 1];
    }
    count = expect;
    if (offset < 0 || offset > numel || count > numel - offset)
      bad(name, *a[1], "elements ", offset, "..", offset + count, " lie outside storage '",
          entry_name, "' of ", numel, " elements");
    t.nbytes = size_t(count) * el;
    const uint8_t* data = entry->data + size_t(offset) * el;
    if (reinterpret_cast<uintptr_t>(data) % el != 0) {
      std::shared_ptr<uint8_t[]> copy(new uint8_t[t.nbytes > 0 ? t.nbytes : 1]);
      std::memcpy(copy.get(), data, t.nbytes);
      out_.owned.push_back(copy);
      out_.owned_bytes += t.nbytes;
      data = copy.get();
      t.owned = true;
    }
    t.data = data;
    return t;
  }

  std::string path_;
  std::string prefix_;
  TorchBin out_;
};

}  // namespace

TorchBin read_torch_bin(const std::string& path) {
  return BinReader(path).read();
}

}  // namespace moescope
