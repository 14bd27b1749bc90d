// Safetensors reading and writing: round trips of every dtype, metadata, alignment, and one test
// per kind of corrupt file, each checking the error names the file and the fact that is wrong.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/weights/safetensors.h"
#include "kernels/cpu/dtype.h"
#include "tests/common/expect_error.h"
#include "tests/common/test_paths.h"

namespace moescope {
namespace {

using kernels::DType;

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

// A file with the given header length field, header text and data bytes, for corrupt inputs.
std::string write_raw(const std::string& dir, const std::string& name, uint64_t header_len,
                      const std::string& header, size_t data_bytes) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = char(uint8_t(header_len >> (8 * i)));
  bytes += header;
  bytes.append(data_bytes, 'Z');
  std::string path = dir + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string write_raw(const std::string& dir, const std::string& name, const std::string& header,
                      size_t data_bytes) {
  return write_raw(dir, name, header.size(), header, data_bytes);
}

using test::expect_error;

void expect_open_error(const std::string& path, const std::vector<std::string>& parts) {
  expect_error([&] { SafetensorsFile::open(path); }, parts);
}

TEST(Safetensors, RoundTripsEveryDtype) {
  std::string dir = test::make_temp_dir("st-dtypes");
  const size_t n = 15;  // [3, 5]: odd byte counts for the 1-byte types
  std::vector<float> f32(n);
  std::vector<uint16_t> f16(n), bf16(n);
  std::vector<int8_t> i8(n);
  std::vector<uint8_t> f8(n), u8(n);
  std::vector<int32_t> i32(n);
  std::vector<int64_t> i64(n);
  for (size_t i = 0; i < n; ++i) {
    float v = float(i) * 0.75f - 5.0f;
    f32[i] = v;
    f16[i] = kernels::f32_to_f16(v);
    bf16[i] = kernels::f32_to_bf16(v);
    i8[i] = int8_t(int(i) * 17 - 128);
    f8[i] = kernels::f32_to_fp8_e4m3(v);
    u8[i] = uint8_t(255 - i * 3);
    i32[i] = int32_t(i) * -100000 + 7;
    i64[i] = int64_t(i) * 1'000'000'000'000LL - 3;
  }
  struct Case {
    const char* name;
    DType dtype;
    const void* data;
  };
  std::vector<Case> cases = {{"f32", DType::F32, f32.data()},    {"f16", DType::F16, f16.data()},
                             {"bf16", DType::BF16, bf16.data()}, {"i8", DType::I8, i8.data()},
                             {"f8", DType::F8_E4M3, f8.data()},  {"i32", DType::I32, i32.data()},
                             {"i64", DType::I64, i64.data()},    {"u8", DType::U8, u8.data()}};
  std::vector<TensorToWrite> out;
  for (const Case& c : cases) out.push_back({c.name, c.dtype, {3, 5}, c.data});
  std::string path = dir + "/all.safetensors";
  write_safetensors(path, out);
  EXPECT_FALSE(test::file_exists(path + ".tmp"));

  auto file = SafetensorsFile::open(path);
  EXPECT_EQ(file->path(), path);
  ASSERT_EQ(file->tensors().size(), cases.size());
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const TensorView* t = file->find(c.name);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->name, c.name);
    EXPECT_EQ(t->dtype, c.dtype);
    EXPECT_EQ(t->shape, (std::vector<int64_t>{3, 5}));
    EXPECT_EQ(t->numel(), 15);
    EXPECT_EQ(t->shape_string(), "[3, 5]");
    EXPECT_EQ(t->file, path);
    ASSERT_EQ(t->nbytes, n * kernels::dtype_size(c.dtype));
    EXPECT_EQ(std::memcmp(t->data, c.data, t->nbytes), 0);
  }
  // Spot-check decoded values, not just bytes.
  float got[n];
  kernels::convert_to_f32(DType::BF16, file->find("bf16")->data, got, n);
  EXPECT_EQ(got[4], -2.0f);
  kernels::convert_to_f32(DType::I8, file->find("i8")->data, got, n);
  EXPECT_EQ(got[0], -128.0f);
  int64_t last;
  std::memcpy(&last, static_cast<const int64_t*>(file->find("i64")->data) + 14, 8);
  EXPECT_EQ(last, 14'000'000'000'000LL - 3);
  EXPECT_EQ(file->find("missing"), nullptr);
}

TEST(Safetensors, RoundTripsMetadata) {
  std::string dir = test::make_temp_dir("st-meta");
  float x[2] = {1.0f, 2.0f};
  std::map<std::string, std::string> meta = {{"format", "pt"}, {"note", "quoted \" and ünïcode"}};
  write_safetensors(dir + "/m.safetensors", {{"x", DType::F32, {2}, x}}, meta);
  auto file = SafetensorsFile::open(dir + "/m.safetensors");
  EXPECT_EQ(file->metadata(), meta);
  EXPECT_EQ(file->tensors().size(), 1u);  // __metadata__ is not a tensor

  write_safetensors(dir + "/none.safetensors", {{"x", DType::F32, {2}, x}});
  EXPECT_TRUE(SafetensorsFile::open(dir + "/none.safetensors")->metadata().empty());
}

TEST(Safetensors, DataIsAlignedAndContiguous) {
  std::string dir = test::make_temp_dir("st-align");
  // A name length that makes the unpadded header a non-multiple of 8.
  std::vector<double> a(3);
  std::vector<uint16_t> b(4);
  std::vector<uint8_t> c(16);
  std::string path = dir + "/a.safetensors";
  write_safetensors(path, {{"a_tensor_with_odd_name", DType::I64, {3}, a.data()},
                           {"b", DType::BF16, {2, 2}, b.data()},
                           {"c", DType::U8, {16}, c.data()}});
  std::vector<uint8_t> raw = read_bytes(path);
  uint64_t n = 0;
  std::memcpy(&n, raw.data(), 8);
  EXPECT_EQ((8 + n) % 8, 0u);
  EXPECT_EQ(raw[8 + n - 1] == ' ' || raw[8 + n - 1] == '}', true);
  EXPECT_EQ(raw.size(), 8 + n + 24 + 8 + 16);  // no gaps: readers reject them

  auto file = SafetensorsFile::open(path);
  // The first tensor starts the data region, so offsets from it are offsets into the data.
  const auto* data_start = static_cast<const uint8_t*>(file->find("a_tensor_with_odd_name")->data);
  for (const auto& [name, t] : file->tensors()) {
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data) % 8, 0u) << name;
    size_t offset = size_t(static_cast<const uint8_t*>(t.data) - data_start);
    EXPECT_EQ(std::memcmp(t.data, raw.data() + 8 + n + offset, t.nbytes), 0) << name;
  }
}

TEST(Safetensors, EmptyAndScalarTensors) {
  std::string dir = test::make_temp_dir("st-empty");
  float s = 3.5f;
  std::string path = dir + "/e.safetensors";
  write_safetensors(path, {{"empty", DType::F32, {0, 4}, nullptr},
                           {"scalar", DType::F32, {}, &s},
                           {"empty2", DType::BF16, {5, 0}, nullptr}});
  auto file = SafetensorsFile::open(path);
  EXPECT_EQ(file->find("empty")->numel(), 0);
  EXPECT_EQ(file->find("empty")->nbytes, 0u);
  EXPECT_EQ(file->find("empty")->shape, (std::vector<int64_t>{0, 4}));
  EXPECT_EQ(file->find("scalar")->numel(), 1);
  EXPECT_EQ(file->find("scalar")->shape_string(), "[]");
  EXPECT_EQ(*static_cast<const float*>(file->find("scalar")->data), 3.5f);

  // Only empty tensors: the data region itself is empty.
  write_safetensors(dir + "/only_empty.safetensors", {{"z", DType::I8, {0}, nullptr}});
  EXPECT_EQ(SafetensorsFile::open(dir + "/only_empty.safetensors")->find("z")->nbytes, 0u);
}

TEST(Safetensors, WriteFailuresLeaveNoFile) {
  std::string dir = test::make_temp_dir("st-writefail");
  float x = 1.0f;
  std::string path = dir + "/no_such_dir/x.safetensors";
  expect_error(
      [&] {
        write_safetensors(path, {{"x", DType::F32, {1}, &x}});
      },
      {"x.safetensors.tmp", "cannot create"});
  EXPECT_FALSE(test::file_exists(path));
  EXPECT_FALSE(test::file_exists(path + ".tmp"));

  std::string dup = dir + "/dup.safetensors";
  expect_error(
      [&] {
        write_safetensors(dup, {{"x", DType::F32, {1}, &x}, {"x", DType::F32, {1}, &x}});
      },
      {"dup.safetensors", "'x'", "twice"});
  expect_error(
      [&] {
        write_safetensors(dup, {{"x", DType::F32, {-1}, &x}});
      },
      {"dup.safetensors", "'x'", "negative"});
  expect_error(
      [&] {
        write_safetensors(dup, {{"__metadata__", DType::F32, {1}, &x}});
      },
      {"dup.safetensors", "reserved"});
  EXPECT_FALSE(test::file_exists(dup));
}

TEST(Safetensors, RewriteReplacesWholeFile) {
  std::string dir = test::make_temp_dir("st-rewrite");
  std::string path = dir + "/r.safetensors";
  std::vector<float> big(1000, 1.0f), small(2, 2.0f);
  write_safetensors(path, {{"big", DType::F32, {1000}, big.data()}});
  write_safetensors(path, {{"small", DType::F32, {2}, small.data()}});
  auto file = SafetensorsFile::open(path);
  EXPECT_EQ(file->find("big"), nullptr);
  EXPECT_EQ(static_cast<const float*>(file->find("small")->data)[1], 2.0f);
}

// ---- corrupt files ---------------------------------------------------------------------------

TEST(SafetensorsErrors, MissingFile) {
  std::string dir = test::make_temp_dir("st-missing");
  expect_open_error(dir + "/nope.safetensors", {"nope.safetensors", "No such file"});
}

TEST(SafetensorsErrors, DirectoryIsNotAFile) {
  std::string dir = test::make_temp_dir("st-dir");
  std::filesystem::create_directory(dir + "/d.safetensors");
  expect_open_error(dir + "/d.safetensors", {"d.safetensors", "not a regular file"});
}

TEST(SafetensorsErrors, ShorterThanLengthField) {
  std::string dir = test::make_temp_dir("st-short");
  write_bytes(dir + "/s.safetensors", {1, 2, 3});
  expect_open_error(dir + "/s.safetensors", {"s.safetensors", "3 bytes", "8-byte"});
  write_bytes(dir + "/zero.safetensors", {});
  expect_open_error(dir + "/zero.safetensors", {"zero.safetensors", "0 bytes"});
}

TEST(SafetensorsErrors, TruncatedCopyOfGoodFile) {
  std::string dir = test::make_temp_dir("st-trunc");
  std::vector<float> w(64, 0.5f);
  std::string good = dir + "/good.safetensors";
  write_safetensors(good, {{"w", DType::F32, {8, 8}, w.data()}});
  std::vector<uint8_t> bytes = read_bytes(good);

  // Cut into the data: the header promises bytes past end of file. Open must refuse before any
  // view exists, so nothing can read past the mapping.
  std::vector<uint8_t> cut(bytes.begin(), bytes.end() - 10);
  write_bytes(dir + "/cut.safetensors", cut);
  expect_open_error(dir + "/cut.safetensors",
                    {"cut.safetensors", "'w'", "truncated", std::to_string(cut.size()),
                     std::to_string(bytes.size())});

  // Cut into the header.
  std::vector<uint8_t> cut_header(bytes.begin(), bytes.begin() + 20);
  write_bytes(dir + "/cut_header.safetensors", cut_header);
  expect_open_error(dir + "/cut_header.safetensors",
                    {"cut_header.safetensors", "header length", "exceeds", "12 bytes"});
}

TEST(SafetensorsErrors, HeaderLengthTooBig) {
  std::string dir = test::make_temp_dir("st-biglen");
  std::string header = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  std::string p = write_raw(dir, "big.safetensors", header.size() + 100, header, 4);
  expect_open_error(p, {"big.safetensors", "header length", std::to_string(header.size() + 100)});
  std::string q = write_raw(dir, "absurd.safetensors", uint64_t(1) << 40, header, 4);
  expect_open_error(q, {"absurd.safetensors", "absurd", std::to_string(uint64_t(1) << 40)});
}

TEST(SafetensorsErrors, GarbageHeader) {
  std::string dir = test::make_temp_dir("st-garbage");
  std::string p = write_raw(dir, "g.safetensors", "{\"a\": [1, 2,,]}  ", 0);
  expect_open_error(p, {"g.safetensors", "not valid JSON", "parse error"});
  std::string q = write_raw(dir, "bin.safetensors", std::string("\x01\x02\xff\x00z", 5), 0);
  expect_open_error(q, {"bin.safetensors", "not valid JSON"});
  std::string r = write_raw(dir, "arr.safetensors", "[1, 2]", 0);
  expect_open_error(r, {"arr.safetensors", "must be a JSON object", "array"});
}

TEST(SafetensorsErrors, UnknownDtype) {
  std::string dir = test::make_temp_dir("st-dtype");
  std::string p = write_raw(dir, "d.safetensors",
                            R"({"w":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}})", 16);
  expect_open_error(p, {"d.safetensors", "'w'", "unknown dtype \"F64\"", "BF16", "F8_E4M3"});
}

TEST(SafetensorsErrors, ByteLengthDoesNotMatchShape) {
  std::string dir = test::make_temp_dir("st-len");
  std::string p = write_raw(dir, "l.safetensors",
                            R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})", 12);
  expect_open_error(p, {"l.safetensors", "'w'", "12 bytes", "16 bytes"});
  // A shape whose element count overflows must not wrap around to a matching size.
  std::string q = write_raw(
      dir, "o.safetensors",
      R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,0]}})", 0);
  expect_open_error(q, {"o.safetensors", "'w'", "more elements"});
}

TEST(SafetensorsErrors, OverlappingTensors) {
  std::string dir = test::make_temp_dir("st-overlap");
  std::string p = write_raw(dir, "o.safetensors",
                            R"({"first":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                            R"("second":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})",
                            24);
  expect_open_error(p, {"o.safetensors", "'first'", "'second'", "overlap"});
  // Gaps and empty tensors inside another's range are fine.
  std::string q = write_raw(dir, "gap.safetensors",
                            R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                            R"("e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},)"
                            R"("b":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}})",
                            24);
  EXPECT_EQ(SafetensorsFile::open(q)->tensors().size(), 3u);
}

TEST(SafetensorsErrors, OffsetsBeyondData) {
  std::string dir = test::make_temp_dir("st-beyond");
  std::string p = write_raw(dir, "b.safetensors",
                            R"({"w":{"dtype":"U8","shape":[8],"data_offsets":[100,108]}})", 8);
  expect_open_error(p, {"b.safetensors", "'w'", "truncated", "needs bytes up to"});
  // A range many pages past end of file: touching it would be SIGBUS, so this passing shows open
  // rejects from the header alone, before any access to the data.
  std::string q =
      write_raw(dir, "far.safetensors",
                R"({"w":{"dtype":"U8","shape":[16777216],"data_offsets":[0,16777216]}})", 8);
  expect_open_error(q, {"far.safetensors", "'w'", "16777216", "truncated"});
}

TEST(SafetensorsErrors, WrongJsonTypes) {
  std::string dir = test::make_temp_dir("st-types");
  struct Case {
    const char* header;
    std::vector<std::string> parts;
  };
  std::vector<Case> cases = {
      {R"({"w": 5})", {"'w'", "must be an object"}},
      {R"({"w":{"shape":[1],"data_offsets":[0,4]}})", {"'w'", "no \"dtype\""}},
      {R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", {"'w'", "no \"shape\""}},
      {R"({"w":{"dtype":"F32","shape":[1]}})", {"'w'", "no \"data_offsets\""}},
      {R"({"w":{"dtype":5,"shape":[1],"data_offsets":[0,4]}})", {"'w'", "\"dtype\" must be"}},
      {R"({"w":{"dtype":"F32","shape":"1","data_offsets":[0,4]}})", {"'w'", "\"shape\" must be"}},
      {R"({"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", {"'w'", "shape[0]", "float"}},
      {R"({"w":{"dtype":"F32","shape":[-1,4],"data_offsets":[0,4]}})", {"'w'", "shape[0] is -1"}},
      {R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", {"'w'", "[begin, end]"}},
      {R"({"w":{"dtype":"F32","shape":[1],"data_offsets":"0,4"}})", {"'w'", "[begin, end]"}},
      {R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", {"'w'", "[begin, end]"}},
      {R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", {"'w'", "begin > end"}},
      {R"({"__metadata__":{"a":1}})", {"__metadata__", "\"a\"", "must be a string"}},
      {R"({"__metadata__":["x"]})", {"__metadata__", "must be an object"}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].header);
    std::string name = cat("t", i, ".safetensors");
    std::string p = write_raw(dir, name, cases[i].header, 8);
    try {
      SafetensorsFile::open(p);
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find(name), std::string::npos) << msg;
      for (const std::string& part : cases[i].parts)
        EXPECT_NE(msg.find(part), std::string::npos) << msg;
    }
  }
}

}  // namespace
}  // namespace moescope
