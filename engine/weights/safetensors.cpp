// Reading (mmap + validation) and writing of safetensors files.
//
// open() checks every length and offset against the file size before any view is created, and it
// reads the mapping only inside [0, 8 + N) while validating, so a truncated or corrupt file is
// rejected with an error instead of a SIGBUS or an out-of-range read later.
#include "engine/weights/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string_view>
#include <utility>

#include "engine/core/error.h"

namespace moescope {

namespace {

using nlohmann::json;

// The same bound as the reference implementation (safetensors' MAX_HEADER_SIZE): a larger value is
// a corrupt length field, not a real header.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

std::string known_dtypes() {
  using kernels::DType;
  std::string out;
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::I8, DType::F8_E4M3, DType::I32,
                  DType::I64, DType::U8})
    out += (out.empty() ? "" : ", ") + std::string(kernels::dtype_name(t));
  return out;
}

// Describes a JSON value's type for "expected X, got Y" messages.
std::string json_kind(const json& v) {
  if (v.is_number_float()) return "a float";
  if (v.is_number_unsigned()) return "a non-negative integer";
  if (v.is_number_integer()) return "a negative integer";
  return std::string("a JSON ") + v.type_name();
}

// The value of a non-negative JSON integer (a "-0" counts), or nullopt.
std::optional<uint64_t> as_u64(const json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer() && v.get<int64_t>() == 0) return 0;
  return std::nullopt;
}

// Parses one header entry into a view relative to the data region (data = nullptr until the file
// checks pass) and returns its [begin, end) range.
std::pair<uint64_t, uint64_t> parse_entry(const std::string& path, const std::string& name,
                                          const json& entry, TensorView& view) {
  auto where = [&] { return cat(path, ": tensor '", name, "'"); };
  if (!entry.is_object())
    fail(where(), ": header entry must be an object with dtype/shape/data_offsets, got ",
         json_kind(entry));
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!entry.contains(key)) fail(where(), ": header entry has no \"", key, "\"");

  const json& dtype = entry["dtype"];
  if (!dtype.is_string()) fail(where(), ": \"dtype\" must be a string, got ", json_kind(dtype));
  auto t = kernels::dtype_from_name(dtype.get<std::string>());
  if (!t)
    fail(where(), ": unknown dtype \"", dtype.get<std::string>(), "\" (known: ", known_dtypes(),
         ")");

  const json& shape = entry["shape"];
  if (!shape.is_array())
    fail(where(), ": \"shape\" must be an array of integers, got ", json_kind(shape));
  // Overflow-checked element count: a corrupt shape must not wrap around to a plausible size.
  uint64_t numel = 1;
  bool overflow = false;
  for (size_t i = 0; i < shape.size(); ++i) {
    const json& d = shape[i];
    if (!d.is_number_integer())
      fail(where(), ": shape[", i, "] must be an integer, got ", json_kind(d));
    auto dim_or = as_u64(d);
    if (!dim_or) fail(where(), ": shape[", i, "] is ", d.get<int64_t>(), ", dims must be >= 0");
    uint64_t dim = *dim_or;
    if (dim > uint64_t(INT64_MAX)) fail(where(), ": shape[", i, "] = ", dim, " is too large");
    view.shape.push_back(int64_t(dim));
    overflow |= __builtin_mul_overflow(numel, dim, &numel);
  }

  const json& offsets = entry["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2 || !as_u64(offsets[0]) || !as_u64(offsets[1]))
    fail(where(), ": \"data_offsets\" must be [begin, end] with non-negative integers, got ",
         offsets.dump());
  uint64_t begin = *as_u64(offsets[0]), end = *as_u64(offsets[1]);
  if (begin > end) fail(where(), ": data_offsets [", begin, ", ", end, "] has begin > end");

  uint64_t want = 0;
  overflow |= __builtin_mul_overflow(numel, uint64_t(kernels::dtype_size(*t)), &want);
  if (overflow)
    fail(where(), ": shape ", shape.dump(), " has more elements than any file can hold");
  if (end - begin != want)
    fail(where(), ": data_offsets [", begin, ", ", end, "] span ", end - begin, " bytes, but ",
         dtype.get<std::string>(), " ", shape.dump(), " needs ", numel, " x ",
         kernels::dtype_size(*t), " = ", want, " bytes");

  view.name = name;
  view.dtype = *t;
  view.nbytes = size_t(want);
  view.file = path;
  return {begin, end};
}

// A file descriptor closed on every exit path.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  // Owned from the start, so the destructor unmaps when any check below throws.
  std::shared_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->path_ = path;

  Fd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (fd.fd < 0) fail(path, ": cannot open safetensors file: ", std::strerror(errno));
  struct stat st;
  if (::fstat(fd.fd, &st) != 0) fail(path, ": cannot stat: ", std::strerror(errno));
  if (!S_ISREG(st.st_mode)) fail(path, ": not a regular file (expected a safetensors file)");
  uint64_t size = uint64_t(st.st_size);
  if (size < 8)
    fail(path, ": file is ", size,
         " bytes, shorter than the 8-byte header length of a safetensors file (truncated?)");

  void* map = ::mmap(nullptr, size_t(size), PROT_READ, MAP_PRIVATE, fd.fd, 0);
  if (map == MAP_FAILED) fail(path, ": cannot mmap ", size, " bytes: ", std::strerror(errno));
  f->map_ = map;
  f->map_size_ = size_t(size);
  const auto* base = static_cast<const uint8_t*>(map);

  // Little-endian on disk; assembled byte by byte so the host's byte order does not matter.
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | base[i];
  if (n > kMaxHeaderBytes)
    fail(path, ": header length ", n, " is absurd (limit ", kMaxHeaderBytes,
         " bytes); not a safetensors file or corrupt");
  if (n > size - 8)
    fail(path, ": header length ", n, " exceeds the ", size - 8,
         " bytes after the length field (file truncated or not safetensors)");

  json header;
  try {
    header = json::parse(base + 8, base + 8 + n);
  } catch (const json::exception& e) {
    fail(path, ": header is not valid JSON: ", e.what());
  }
  if (!header.is_object()) fail(path, ": header must be a JSON object, got ", json_kind(header));

  const uint64_t data_size = size - 8 - n;
  struct Range {
    uint64_t begin, end;
    const std::string* name;
  };
  std::vector<Range> ranges;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it->is_object())
        fail(path, ": \"__metadata__\" must be an object of string values, got ", json_kind(*it));
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string())
          fail(path, ": __metadata__ \"", m.key(), "\" must be a string, got ", json_kind(*m));
        f->metadata_[m.key()] = m->get<std::string>();
      }
      continue;
    }
    TensorView view;
    auto [begin, end] = parse_entry(path, it.key(), *it, view);
    if (end > data_size)
      fail(path, ": tensor '", it.key(), "' needs bytes up to ", 8 + n + end, " but the file has ",
           size, " (data region ", data_size, " bytes, tensor ends at ", end, "); file truncated?");
    view.data = base + 8 + n + begin;
    auto [pos, inserted] = f->tensors_.emplace(it.key(), std::move(view));
    ranges.push_back({begin, end, &pos->first});
  }

  // Zero-length tensors occupy no bytes and cannot overlap anything.
  std::erase_if(ranges, [](const Range& r) { return r.begin == r.end; });
  std::sort(ranges.begin(), ranges.end(),
            [](const Range& a, const Range& b) { return a.begin < b.begin; });
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].begin < ranges[i - 1].end)
      fail(path, ": tensors '", *ranges[i - 1].name, "' [", ranges[i - 1].begin, ", ",
           ranges[i - 1].end, ") and '", *ranges[i].name, "' [", ranges[i].begin, ", ",
           ranges[i].end, ") overlap in the data region");
  return f;
}

SafetensorsFile::~SafetensorsFile() {
  if (map_) ::munmap(map_, map_size_);
}

const TensorView* SafetensorsFile::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

namespace {

// Writes all of [data, data + n) or throws; write() may return short counts for large buffers.
void write_all(int fd, const void* data, size_t n, const std::string& path) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd, p, std::min<size_t>(n, size_t(1) << 30));
    if (w < 0) {
      if (errno == EINTR) continue;
      fail(path, ": write failed: ", std::strerror(errno));
    }
    p += w;
    n -= size_t(w);
  }
}

}  // namespace

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  // ordered_json keeps the header in the order given, which is also the order of the data.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<size_t> sizes;
  std::set<std::string> seen;
  uint64_t offset = 0;
  for (const TensorToWrite& t : tensors) {
    if (t.name == "__metadata__")
      fail(path, ": cannot write a tensor named '__metadata__' (reserved by the format)");
    if (!seen.insert(t.name).second) fail(path, ": tensor '", t.name, "' is given twice");
    uint64_t numel = 1;
    for (int64_t d : t.shape) {
      if (d < 0) fail(path, ": tensor '", t.name, "' has negative dim ", d);
      numel *= uint64_t(d);
    }
    size_t nbytes = size_t(numel * kernels::dtype_size(t.dtype));
    if (nbytes > 0 && !t.data) fail(path, ": tensor '", t.name, "' has no data");
    // Tensors are contiguous, with no padding between them: readers such as the reference
    // safetensors library reject gaps. Each tensor is aligned when the ones before it have sizes
    // that are multiples of 8 (e.g. when larger dtypes come first).
    header[t.name] = {{"dtype", kernels::dtype_name(t.dtype)},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + nbytes}}};
    sizes.push_back(nbytes);
    offset += nbytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {
    fail(path, ": cannot encode the header (tensor names and metadata must be UTF-8): ", e.what());
  }
  // Trailing spaces are allowed by the format; they put the data region on an 8-byte boundary.
  text.append((8 - text.size() % 8) % 8, ' ');
  uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = uint8_t(uint64_t(text.size()) >> (8 * i));

  // Write beside the target and rename, so a failure leaves the old file (or none), never half.
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(tmp, ": cannot create: ", std::strerror(errno));
  try {
    write_all(fd, len, 8, tmp);
    write_all(fd, text.data(), text.size(), tmp);
    for (size_t i = 0; i < tensors.size(); ++i)
      if (sizes[i] > 0) write_all(fd, tensors[i].data, sizes[i], tmp);
    if (::close(fd) != 0) {
      fd = -1;
      fail(tmp, ": close failed: ", std::strerror(errno));
    }
    fd = -1;
    if (::rename(tmp.c_str(), path.c_str()) != 0)
      fail(path, ": cannot rename ", tmp, " into place: ", std::strerror(errno));
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
}

}  // namespace moescope
