// torch .bin checkpoints (HF ports): the zip reader (stored entries, ZIP64) and data.pkl read by
// the restricted pickle reader with torch's allow-list. The tiny bf16 HF port
// (tests/reference/fixtures/hf-bin-tiny, torch.save'd shards + pytorch_model.bin.index.json)
// holds exactly bf16(q * s) of the int8 safetensors copy of the same model; compressed archives,
// non-contiguous tensors, foreign globals and truncated files are refused naming the file.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/weights/checkpoint.h"
#include "engine/weights/tensor_names.h"
#include "engine/weights/torch/torch_bin.h"
#include "kernels/cpu/dtype.h"
#include "tests/common/expect_error.h"
#include "tests/common/test_paths.h"

namespace moescope {
namespace {

namespace fs = std::filesystem;
using kernels::DType;
using test::expect_error;

std::string fixture(const std::string& name) {
  return test::source_dir() + "/tests/reference/fixtures/" + name;
}

std::vector<float> values(const TensorView& t) {
  std::vector<float> out(size_t(t.numel()));
  kernels::convert_to_f32(t.dtype, t.data, out.data(), out.size());
  return out;
}

TEST(TorchBin, HfPortEqualsTheDequantisedInt8Weights) {
  auto bin = Checkpoint::open(fixture("hf-bin-tiny"));
  auto st = Checkpoint::open(fixture("ckpt0-tiny-st"));
  EXPECT_EQ(bin->files().size(), 2u);
  size_t compared = 0;
  for (const std::string& name : st->names()) {
    if (name.size() > 6 && name.compare(name.size() - 6, 6, "_scale") == 0) continue;
    const TensorView* b = bin->find(name);
    const TensorView* s = st->find(name);
    ASSERT_TRUE(b) << name << " missing from the .bin port";
    ASSERT_EQ(b->dtype, DType::BF16) << name;
    ASSERT_EQ(b->shape, s->shape) << name;
    EXPECT_FALSE(b->owned) << name << ": expected a view into the archive";
    // The port's value: bf16 of the exactly dequantised (or f32) weight.
    std::vector<float> want = values(*s);
    if (s->dtype == DType::I8) {
      const TensorView& sc = *st->find(scale_name(name));
      const std::vector<float> scales = values(sc);
      const int64_t k = s->shape[1], g = sc.shape[1];
      for (int64_t i = 0; i < int64_t(want.size()); ++i)
        want[size_t(i)] *= scales[size_t((i / k) * g + (i % k) / (k / g))];
    }
    const auto* bits = static_cast<const uint16_t*>(b->data);
    for (size_t i = 0; i < want.size(); ++i)
      ASSERT_EQ(bits[i], kernels::f32_to_bf16(want[i])) << name << " element " << i;
    ++compared;
  }
  EXPECT_EQ(compared, bin->names().size());
}

TEST(TorchBin, Zip64ArchiveAndItsTensors) {
  TorchBin bin = read_torch_bin(fixture("torch/zip64.bin"));
  ASSERT_EQ(bin.tensors.size(), 3u);
  EXPECT_EQ(bin.tensors[0].name, "a.weight");
  EXPECT_EQ(bin.tensors[0].dtype, DType::F32);
  EXPECT_EQ(bin.tensors[0].shape, (std::vector<int64_t>{3, 4}));
  std::vector<float> a;
  for (int i = 0; i < 12; ++i) a.push_back(float(i) / 8);
  EXPECT_EQ(values(bin.tensors[0]), a);
  EXPECT_EQ(bin.tensors[1].dtype, DType::BF16);
  EXPECT_EQ(values(bin.tensors[1]), (std::vector<float>{-2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f}));
  EXPECT_EQ(bin.tensors[2].dtype, DType::I8);
  EXPECT_EQ(values(bin.tensors[2]), (std::vector<float>{1, -2, 3}));
  // Views into the mapped archive, 64-byte aligned as torch writes them.
  for (const TensorView& t : bin.tensors) {
    const auto* p = static_cast<const uint8_t*>(t.data);
    EXPECT_GE(p, bin.archive->file()->data());
    EXPECT_LE(p + t.nbytes, bin.archive->file()->data() + bin.archive->file()->size());
  }
}

TEST(TorchBin, RefusedArchives) {
  expect_error([] { read_torch_bin(fixture("torch/compressed.bin")); },
               {"compressed.bin", "entry 'compressed/data.pkl' is compressed (method 8)"});
  expect_error([] { read_torch_bin(fixture("torch/evil.bin")); },
               {"evil.bin", "evil/data.pkl", "byte offset", "'__builtin__.eval'", "not allowed"});
  expect_error([] { read_torch_bin(fixture("torch/noncontiguous.bin")); },
               {"noncontiguous.bin", "tensor 't'", "not contiguous"});
  // A ckpt-0 pickle is not a zip archive.
  expect_error([] { read_torch_bin(fixture("ckpt0-tiny/tensor00001_000")); },
               {"tensor00001_000", "no zip end-of-central-directory record", "not a zip"});
}

TEST(TorchBin, TruncatedArchivesNameTheFileAndByteOffset) {
  const std::string dir = test::make_temp_dir("bin-cut");
  const std::string path = dir + "/pytorch_model.bin";
  const uintmax_t size = fs::file_size(fixture("torch/zip64.bin"));
  for (uintmax_t cut : {uintmax_t(10), uintmax_t(100), size / 2, size - 30, size - 1}) {
    SCOPED_TRACE(cut);
    fs::copy_file(fixture("torch/zip64.bin"), path, fs::copy_options::overwrite_existing);
    fs::resize_file(path, cut);
    expect_error([&] { read_torch_bin(path); }, {path, "byte offset " + std::to_string(cut)});
  }
}

// A copy of hf-bin-tiny with one change.
std::string port_copy(const std::string& tag) {
  const std::string dir = test::make_temp_dir(tag);
  for (const auto& e : fs::directory_iterator(fixture("hf-bin-tiny")))
    fs::copy_file(e.path(), fs::path(dir) / e.path().filename());
  return dir;
}

TEST(TorchBin, IndexAndPlainLayouts) {
  {
    // Without the index every .bin in the directory is read.
    const std::string dir = port_copy("bin-plain");
    fs::remove(fs::path(dir) / "pytorch_model.bin.index.json");
    auto plain = Checkpoint::open(dir);
    auto indexed = Checkpoint::open(fixture("hf-bin-tiny"));
    EXPECT_EQ(plain->names(), indexed->names());
  }
  {
    const std::string dir = port_copy("bin-missing");
    fs::remove(fs::path(dir) / "pytorch_model-00002-of-00002.bin");
    expect_error([&] { Checkpoint::open(dir); },
                 {"pytorch_model.bin.index.json", "pytorch_model-00002-of-00002.bin", "missing"});
  }
  {
    // The index maps a tensor to the wrong shard.
    const std::string dir = port_copy("bin-wrong");
    const std::string index = dir + "/pytorch_model.bin.index.json";
    nlohmann::json j;
    std::ifstream(index) >> j;
    j["weight_map"]["model.embed_tokens.weight"] = "pytorch_model-00002-of-00002.bin";
    std::ofstream(index) << j.dump();
    expect_error([&] { Checkpoint::open(dir); },
                 {"pytorch_model.bin.index.json", "model.embed_tokens.weight",
                  "pytorch_model-00002-of-00002.bin", "does not contain it"});
  }
}

}  // namespace
}  // namespace moescope
