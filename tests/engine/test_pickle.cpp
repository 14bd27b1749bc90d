// The restricted pickle reader: real pickles written by Python (numpy arrays in protocols 2-5,
// ml_dtypes bf16, QuantizedWeight8bit from __main__; tests/reference/fixtures/pickles) parse to
// the right values with array data viewed in place; every forbidden construct (a global outside
// the allow-list, a call of a non-callable, another class, text opcodes, persistent ids, ...) is
// refused naming the file, the byte offset and the global; every truncation names the file and
// the byte offset where it ends; corrupted bytes never crash.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "engine/weights/mapped_file.h"
#include "engine/weights/pickle/numpy_array.h"
#include "engine/weights/pickle/pickle_reader.h"
#include "kernels/cpu/dtype.h"
#include "tests/common/expect_error.h"
#include "tests/common/test_paths.h"

namespace moescope {
namespace {

using kernels::DType;
using pickle::NumpyArray;
using test::expect_error;

std::string fixture(const std::string& name) {
  return test::source_dir() + "/tests/reference/fixtures/pickles/" + name;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::unique_ptr<pickle::PickleDocument> parse(
    const std::string& bytes, const std::string& name = "test.pkl",
    const pickle::PicklePolicy& policy = pickle::numpy_policy()) {
  return pickle::read_pickle(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), name,
                             policy);
}

std::vector<float> values(const NumpyArray& a) {
  std::vector<float> out(size_t(a.numel()));
  kernels::convert_to_f32(a.dtype, a.data, out.data(), out.size());
  return out;
}

// (arange(12) - 5.5) / 4 as [3, 4], what make_checkpoint_fixtures.py pickles.
std::vector<float> expected_array() {
  std::vector<float> v;
  for (int i = 0; i < 12; ++i) v.push_back((float(i) - 5.5f) / 4.0f);
  return v;
}

TEST(Pickle, NumpyArraysInEveryProtocol) {
  for (const char* name : {"array_p2.pkl", "array_p3.pkl", "array_p4.pkl", "array_p5.pkl"}) {
    SCOPED_TRACE(name);
    auto file = MappedFile::open(fixture(name), "pickle");
    auto doc =
        pickle::read_pickle(file->data(), file->size(), file->path(), pickle::numpy_policy());
    ASSERT_TRUE(pickle::is_numpy_array(*doc->root));
    NumpyArray a = pickle::decode_numpy_array(*doc->root, file->path(), "array");
    EXPECT_EQ(a.dtype, DType::F32);
    EXPECT_EQ(a.shape, (std::vector<int64_t>{3, 4}));
    EXPECT_EQ(values(a), expected_array());
    const auto* p = static_cast<const uint8_t*>(a.data);
    if (std::string(name) == "array_p2.pkl") {
      EXPECT_TRUE(a.owned);  // protocol 2 spells bytes as a latin-1 str: decoded into a copy
    } else {
      // A view into the mapped file, no copy.
      EXPECT_FALSE(a.owned);
      EXPECT_GE(p, file->data());
      EXPECT_LE(p + a.nbytes, file->data() + file->size());
    }
  }
}

TEST(Pickle, Bfloat16ArraysAndQuantizedWeights) {
  auto bf = MappedFile::open(fixture("array_bf16.pkl"), "pickle");
  auto doc = pickle::read_pickle(bf->data(), bf->size(), bf->path(), pickle::numpy_policy());
  NumpyArray a = pickle::decode_numpy_array(*doc->root, bf->path(), "array");
  EXPECT_EQ(a.dtype, DType::BF16);
  EXPECT_EQ(values(a), expected_array());  // exact in bf16

  auto q = MappedFile::open(fixture("quantized.pkl"), "pickle");
  auto qdoc = pickle::read_pickle(q->data(), q->size(), q->path(), pickle::numpy_policy());
  ASSERT_TRUE(pickle::is_quantized_weight(*qdoc->root));
  pickle::QuantizedWeight w = pickle::decode_quantized_weight(*qdoc->root, q->path());
  EXPECT_EQ(w.weight.dtype, DType::I8);
  EXPECT_EQ(w.weight.shape, (std::vector<int64_t>{4, 3}));
  std::vector<float> want_w;
  for (int i = -6; i < 6; ++i) want_w.push_back(float(i));
  EXPECT_EQ(values(w.weight), want_w);
  EXPECT_EQ(w.scales.dtype, DType::BF16);
  EXPECT_EQ(w.scales.shape, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(values(w.scales), (std::vector<float>{0.5f, 0.25f, 2.0f}));
}

TEST(Pickle, ForbiddenGlobalsAndCallsAreRefused) {
  struct Case {
    const char* file;
    std::vector<std::string> parts;
  };
  const Case cases[] = {
      // os.system is pickled as posix.system; STACK_GLOBAL at byte 29.
      {"os_system.pkl", {"os_system.pkl", "byte offset ", "'posix.system'", "not allowed"}},
      // Protocol 2 spells builtins as Python 2's __builtin__.
      {"eval.pkl", {"eval.pkl", "byte offset 2", "GLOBAL", "'__builtin__.eval'", "not allowed"}},
      {"other_class.pkl", {"other_class.pkl", "'__main__.Other'", "not allowed"}},
      {"call_ndarray.pkl", {"call_ndarray.pkl", "REDUCE", "'numpy.ndarray'", "may not be called"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file);
    expect_error([&] { parse(slurp(fixture(c.file)), fixture(c.file)); }, c.parts);
  }
  // The exact offset of the forbidden global: STACK_GLOBAL follows the two strings.
  const std::string evil = slurp(fixture("os_system.pkl"));
  const size_t at = evil.find('\x93');
  expect_error([&] { parse(evil, "evil.pkl"); }, {"evil.pkl: byte offset " + std::to_string(at)});
}

TEST(Pickle, ArraysOfOtherTypesAreRefused) {
  auto decode = [](const char* name) {
    auto doc = parse(slurp(fixture(name)), fixture(name));
    pickle::decode_numpy_array(*doc->root, fixture(name), "array");
  };
  expect_error([&] { decode("float64.pkl"); }, {"float64.pkl", "dtype 'f8' is not supported"});
  expect_error([&] { decode("object_array.pkl"); }, {"object_array.pkl", "'O8'"});
  // A QuantizedWeight8bit is not an array, and an array is not a QuantizedWeight8bit.
  expect_error([&] { decode("quantized.pkl"); }, {"expected a numpy array", "QuantizedWeight8bit"});
  expect_error(
      [&] {
        auto doc = parse(slurp(fixture("array_p4.pkl")));
        pickle::decode_quantized_weight(*doc->root, "x.pkl");
      },
      {"x.pkl", "QuantizedWeight8bit", "expected the object"});
}

// Hand-made pickles for constructs Python never writes into these files.
TEST(Pickle, ForbiddenOpcodesAreRefused) {
  struct Case {
    std::string bytes;
    std::vector<std::string> parts;
  };
  const std::string proto = "\x80\x02";
  const Case cases[] = {
      {"(lp0\n.", {"byte offset 0", "not a pickle of protocol 2-5"}},  // protocol 0
      {"\x80\x06N.", {"byte offset 0", "PROTO", "protocol 6 is not supported"}},
      {proto + "(cos\nsystem\nS'ls'\no.", {"byte offset 3", "GLOBAL", "'os.system'"}},
      {proto + "(i__main__\nQuantizedWeight8bit\n.", {"byte offset 3", "INST", "not allowed"}},
      {proto + "\x82\x01.", {"byte offset 2", "EXT1", "extension registry"}},
      {proto + "N\x51.", {"byte offset 3", "BINPERSID", "persistent ids"}},
      {proto + "\xff", {"byte offset 2", "unknown opcode"}},
      {proto + "}N\x62.", {"byte offset 4", "BUILD", "dict"}},
      {proto + std::string("X\x01\x00\x00\x00", 5) + "a)R.", {"REDUCE", "calls a str 'a'"}},
      {proto + "I1\n.", {"byte offset 2", "INT", "text opcodes"}},
      {proto + "NN.", {"STOP leaves 2 values"}},
      {proto + "\x8f.", {"EMPTY_SET", "sets"}},
      {proto + "h\x05.", {"BINGET", "memo entry 5"}},
      {proto + "t.", {"TUPLE", "no MARK"}},
      {proto + "\x81.", {"NEWOBJ", "stack underflow"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.bytes);
    expect_error([&] { parse(c.bytes, "hand.pkl"); }, c.parts);
  }
  // Torch's allow-list is not numpy's, and the other way round.
  const std::string ckpt = slurp(fixture("array_p4.pkl"));
  expect_error([&] { parse(ckpt, "a.pkl", pickle::torch_policy()); },
               {"a.pkl", "'numpy._core.multiarray._reconstruct'", "torch .bin data.pkl"});
}

TEST(Pickle, TruncationNamesTheFileAndTheByteOffset) {
  for (const char* name : {"array_p4.pkl", "quantized.pkl", "array_p2.pkl", "array_p5.pkl"}) {
    const std::string full = slurp(fixture(name));
    // Every cut, including cuts inside the array data and right before STOP.
    for (size_t n = 0; n < full.size(); ++n) {
      SCOPED_TRACE(std::string(name) + " cut at " + std::to_string(n));
      const std::string cut = full.substr(0, n);
      if (n == 0) {
        expect_error([&] { parse(cut, "cut.pkl"); }, {"cut.pkl", "empty file"});
        continue;
      }
      expect_error([&] { parse(cut, "cut.pkl"); },
                   {"cut.pkl: truncated at byte offset " + std::to_string(n)});
    }
  }
}

TEST(Pickle, CorruptBytesNeverCrash) {
  std::mt19937 rng(11);
  const std::string base = slurp(fixture("quantized.pkl"));
  int errors = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string b = base;
    for (int k = 0; k < 1 + int(rng() % 3); ++k) b[rng() % b.size()] = char(rng() % 256);
    try {
      auto doc = parse(b, "fuzz.pkl");
      if (pickle::is_quantized_weight(*doc->root))
        pickle::decode_quantized_weight(*doc->root, "fuzz.pkl");
      else
        pickle::decode_numpy_array(*doc->root, "fuzz.pkl", "x");
    } catch (const Error& e) {
      ++errors;
      EXPECT_NE(std::string(e.what()).find("fuzz.pkl"), std::string::npos) << e.what();
    }
  }
  EXPECT_GT(errors, 1000);
}

}  // namespace
}  // namespace moescope
