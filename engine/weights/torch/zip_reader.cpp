// Zip structures (APPNOTE 4.3): end of central directory record (EOCD) at the end of the file,
// optionally preceded by a ZIP64 locator pointing at a ZIP64 EOCD; central directory entries with
// ZIP64 extra fields (id 0x0001) for sizes and offsets that do not fit 32 bits; a local header
// before each entry's data.
#include "engine/weights/torch/zip_reader.h"

#include "engine/core/error.h"

namespace moescope {

namespace {

constexpr uint32_t kEocdSig = 0x06054b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr uint32_t kZip64EocdSig = 0x06064b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kLocalSig = 0x04034b50;

class Cursor {
 public:
  Cursor(const MappedFile& f, size_t pos, const std::string& what)
      : f_(f), pos_(pos), what_(what) {}
  uint64_t le(int n) {
    if (pos_ > f_.size() || f_.size() - pos_ < size_t(n))
      fail(f_.path(), ": truncated at byte offset ", f_.size(), ": ", what_, " needs ", n,
           " bytes at byte offset ", pos_, " (file cut short?)");
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | f_.data()[pos_ + size_t(i)];
    pos_ += size_t(n);
    return v;
  }
  std::string str(size_t n) {
    if (pos_ > f_.size() || f_.size() - pos_ < n)
      fail(f_.path(), ": truncated at byte offset ", f_.size(), ": ", what_, " needs ", n,
           " bytes at byte offset ", pos_, " (file cut short?)");
    std::string s(reinterpret_cast<const char*>(f_.data() + pos_), n);
    pos_ += n;
    return s;
  }
  void skip(size_t n) { pos_ += n; }
  size_t pos() const { return pos_; }

 private:
  const MappedFile& f_;
  size_t pos_;
  std::string what_;
};

}  // namespace

std::shared_ptr<ZipArchive> ZipArchive::open(const std::string& path, const std::string& what) {
  auto z = std::make_shared<ZipArchive>();
  z->file_ = MappedFile::open(path, what);
  const MappedFile& f = *z->file_;
  const uint8_t* d = f.data();
  const size_t size = f.size();

  // The EOCD is 22 bytes plus a comment of at most 65535 bytes.
  if (size < 22)
    fail(path, ": truncated at byte offset ", size, ": too short for a zip archive (expected a ",
         what, ")");
  size_t eocd = size_t(-1);
  for (size_t back = 22; back <= size && back <= 22 + 65535; ++back) {
    size_t at = size - back;
    if (d[at] == 0x50 && d[at + 1] == 0x4b && d[at + 2] == 0x05 && d[at + 3] == 0x06) {
      eocd = at;
      break;
    }
  }
  if (eocd == size_t(-1))
    fail(path, ": no zip end-of-central-directory record before byte offset ", size,
         " (the end of the file): truncated, or not a zip archive (a ", what,
         " written by torch.save is one)");
  Cursor e(f, eocd + 4, "the end-of-central-directory record");
  uint64_t disk = e.le(2), cd_disk = e.le(2);
  e.le(2);
  uint64_t count = e.le(2), cd_size = e.le(4), cd_offset = e.le(4);
  if (count == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF) {
    if (eocd < 20) fail(path, ": ZIP64 archive without a ZIP64 locator (corrupt)");
    Cursor loc(f, eocd - 20, "the ZIP64 locator");
    if (loc.le(4) != kZip64LocatorSig)
      fail(path, ": byte offset ", eocd - 20, ": expected the ZIP64 locator before the EOCD");
    loc.le(4);
    uint64_t z64 = loc.le(8);
    Cursor r(f, size_t(z64), "the ZIP64 end-of-central-directory record");
    if (r.le(4) != kZip64EocdSig)
      fail(path, ": byte offset ", z64, ": expected the ZIP64 end-of-central-directory record");
    r.le(8);
    r.le(2);
    r.le(2);
    disk = r.le(4);
    cd_disk = r.le(4);
    r.le(8);
    count = r.le(8);
    cd_size = r.le(8);
    cd_offset = r.le(8);
  }
  if (disk != 0 || cd_disk != 0) fail(path, ": multi-disk zip archives are not supported");
  if (cd_offset > size || cd_size > size - cd_offset)
    fail(path, ": truncated at byte offset ", size, ": the central directory needs bytes ",
         cd_offset, "..", cd_offset + cd_size, " (file cut short?)");

  Cursor c(f, size_t(cd_offset), "a central directory entry");
  for (uint64_t i = 0; i < count; ++i) {
    const size_t at = c.pos();
    if (c.le(4) != kCentralSig)
      fail(path, ": byte offset ", at, ": expected central directory entry ", i, " of ", count,
           " (corrupt zip)");
    c.le(2);
    c.le(2);
    const uint64_t flags = c.le(2), method = c.le(2);
    c.le(4);
    c.le(4);
    uint64_t comp = c.le(4), uncomp = c.le(4);
    const uint64_t name_len = c.le(2), extra_len = c.le(2), comment_len = c.le(2);
    c.le(2);
    c.le(2);
    c.le(4);
    uint64_t local = c.le(4);
    Entry entry;
    entry.name = c.str(size_t(name_len));
    // ZIP64 extra field: the 64-bit values of the fields that read 0xFFFFFFFF, in this order.
    const size_t extra_end = c.pos() + size_t(extra_len);
    while (c.pos() + 4 <= extra_end) {
      uint64_t id = c.le(2), len = c.le(2);
      size_t next = c.pos() + size_t(len);
      if (id == 0x0001) {
        if (uncomp == 0xFFFFFFFF) uncomp = c.le(8);
        if (comp == 0xFFFFFFFF) comp = c.le(8);
        if (local == 0xFFFFFFFF) local = c.le(8);
      }
      c.skip(next - c.pos());
    }
    c.skip(extra_end - c.pos() + size_t(comment_len));
    if (flags & 1) fail(path, ": entry '", entry.name, "' is encrypted");
    if (method != 0)
      fail(path, ": entry '", entry.name, "' is compressed (method ", method,
           "); torch.save writes stored entries, so this archive was repacked - re-save it "
           "uncompressed");
    if (comp != uncomp)
      fail(path, ": entry '", entry.name, "' is stored but its sizes differ (", comp, " vs ",
           uncomp, "; corrupt zip)");

    Cursor l(f, size_t(local), cat("the local header of entry '", entry.name, "'"));
    if (l.le(4) != kLocalSig)
      fail(path, ": byte offset ", local, ": expected the local header of entry '", entry.name,
           "' (corrupt zip)");
    l.skip(22);
    const uint64_t lname = l.le(2), lextra = l.le(2);
    const uint64_t data = local + 30 + lname + lextra;
    if (data > size || uncomp > size - data)
      fail(path, ": truncated at byte offset ", size, ": entry '", entry.name, "' needs bytes ",
           data, "..", data + uncomp, " (file cut short?)");
    entry.data = d + data;
    entry.size = size_t(uncomp);
    entry.offset = size_t(data);
    z->entries_.push_back(std::move(entry));
  }
  return z;
}

const ZipArchive::Entry* ZipArchive::find(const std::string& name) const {
  for (const Entry& e : entries_)
    if (e.name == name) return &e;
  return nullptr;
}

}  // namespace moescope
