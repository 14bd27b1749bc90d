// Checkpoint directories: plain, index.json and Grok-2 TP-presharded layouts, the joins of rank
// slices (checked byte for byte against concatenations computed here), and the errors for missing,
// mismatched or duplicated pieces.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/weights/checkpoint.h"
#include "engine/weights/safetensors.h"
#include "tests/common/expect_error.h"
#include "tests/common/test_paths.h"

namespace moescope {
namespace {

using kernels::DType;

// Tensors to write, with their bytes kept alive until written.
class Files {
 public:
  // An F32 tensor whose values are seed, seed + 1, ...
  TensorToWrite f32(const std::string& name, std::vector<int64_t> shape, float seed) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    auto& v = store_.emplace_back(size_t(n) * 4);
    for (int64_t i = 0; i < n; ++i) {
      float x = seed + float(i);
      std::memcpy(v.data() + 4 * i, &x, 4);
    }
    return {name, DType::F32, std::move(shape), v.data()};
  }
  // A BF16 tensor of raw values seed, seed + 1, ...
  TensorToWrite bf16(const std::string& name, std::vector<int64_t> shape, uint16_t seed) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    auto& v = store_.emplace_back(size_t(n) * 2);
    for (int64_t i = 0; i < n; ++i) {
      uint16_t x = uint16_t(seed + i);
      std::memcpy(v.data() + 2 * i, &x, 2);
    }
    return {name, DType::BF16, std::move(shape), v.data()};
  }

 private:
  std::deque<std::vector<uint8_t>> store_;
};

using test::expect_error;

void expect_open_error(const std::string& dir, const std::vector<std::string>& parts) {
  expect_error([&] { Checkpoint::open(dir); }, parts);
}

std::vector<uint8_t> bytes_of(const TensorView& t) {
  const auto* p = static_cast<const uint8_t*>(t.data);
  return std::vector<uint8_t>(p, p + t.nbytes);
}

std::vector<uint8_t> bytes_of(const TensorToWrite& t, size_t nbytes) {
  const auto* p = static_cast<const uint8_t*>(t.data);
  return std::vector<uint8_t>(p, p + nbytes);
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// ---- plain layout ----------------------------------------------------------------------------

TEST(Checkpoint, SingleFile) {
  std::string dir = test::make_temp_dir("ck-single");
  Files f;
  auto b = f.f32("b.weight", {2, 3}, 10.0f);
  write_safetensors(dir + "/model.safetensors", {b, f.f32("a.weight", {4}, 0.0f)});
  write_text(dir + "/config.json", "{}");

  auto ck = Checkpoint::open(dir);
  EXPECT_EQ(ck->dir(), dir);
  EXPECT_EQ(ck->names(), (std::vector<std::string>{"a.weight", "b.weight"}));
  EXPECT_EQ(ck->files(), (std::vector<std::string>{dir + "/model.safetensors"}));
  const TensorView* t = ck->find("b.weight");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(t->file, dir + "/model.safetensors");
  EXPECT_EQ(bytes_of(*t), bytes_of(b, 24));
  EXPECT_EQ(ck->find("c.weight"), nullptr);
}

TEST(Checkpoint, SeveralFilesSorted) {
  std::string dir = test::make_temp_dir("ck-plain");
  Files f;
  write_safetensors(dir + "/z.safetensors", {f.f32("z", {1}, 0.0f)});
  write_safetensors(dir + "/a.safetensors", {f.f32("a", {1}, 1.0f)});
  write_safetensors(dir + "/m.safetensors", {f.f32("m", {1}, 2.0f)});
  auto ck = Checkpoint::open(dir);
  EXPECT_EQ(ck->files(), (std::vector<std::string>{dir + "/a.safetensors", dir + "/m.safetensors",
                                                   dir + "/z.safetensors"}));
  EXPECT_EQ(ck->names(), (std::vector<std::string>{"a", "m", "z"}));
  EXPECT_EQ(*static_cast<const float*>(ck->find("m")->data), 2.0f);
}

TEST(Checkpoint, DuplicateTensorAcrossFiles) {
  std::string dir = test::make_temp_dir("ck-dup");
  Files f;
  write_safetensors(dir + "/one.safetensors", {f.f32("shared.weight", {2}, 0.0f)});
  write_safetensors(dir + "/two.safetensors", {f.f32("shared.weight", {2}, 5.0f)});
  expect_open_error(dir, {"'shared.weight'", "one.safetensors", "two.safetensors", "twice"});
}

TEST(Checkpoint, CorruptFileNamesTheFile) {
  std::string dir = test::make_temp_dir("ck-corrupt");
  Files f;
  write_safetensors(dir + "/good.safetensors", {f.f32("a", {2}, 0.0f)});
  write_text(dir + "/bad.safetensors", "nonsense");
  expect_open_error(dir, {"bad.safetensors"});
}

TEST(Checkpoint, DirectoryErrors) {
  std::string dir = test::make_temp_dir("ck-direrr");
  expect_open_error(dir + "/absent", {"absent", "does not exist"});

  write_text(dir + "/file.txt", "x");
  expect_open_error(dir + "/file.txt", {"file.txt", "not a directory"});

  std::string empty = dir + "/empty";
  std::filesystem::create_directory(empty);
  write_text(empty + "/config.json", "{}");
  expect_open_error(empty, {empty, "*.safetensors", "model.safetensors.index.json", "-TP-",
                            "config.json alone is not enough"});

  std::string gguf = dir + "/gguf";
  std::filesystem::create_directory(gguf);
  write_text(gguf + "/model.gguf", "x");
  expect_open_error(gguf, {gguf, "model.gguf", "converted to safetensors"});

  // torch .bin files are read (test_torch_bin.cpp); a broken one names the file.
  std::string torch = dir + "/torch";
  std::filesystem::create_directory(torch);
  write_text(torch + "/pytorch_model.bin", "x");
  expect_open_error(torch, {torch + "/pytorch_model.bin", "truncated at byte offset 1"});
}

// ---- index.json layout -----------------------------------------------------------------------

TEST(Checkpoint, IndexLayout) {
  std::string dir = test::make_temp_dir("ck-index");
  Files f;
  auto a = f.f32("layers.0.w", {2, 2}, 1.0f);
  auto b = f.f32("layers.1.w", {2, 2}, 100.0f);
  write_safetensors(dir + "/model-00001-of-00002.safetensors", {a, f.f32("unlisted", {1}, 0.0f)});
  write_safetensors(dir + "/model-00002-of-00002.safetensors", {b});
  // Not referenced by the index, so never opened even though it is corrupt.
  write_text(dir + "/stray.safetensors", "garbage");
  write_text(dir + "/model.safetensors.index.json",
             R"({"metadata": {"total_size": 32}, "weight_map": {
                   "layers.0.w": "model-00001-of-00002.safetensors",
                   "layers.1.w": "model-00002-of-00002.safetensors"}})");
  auto ck = Checkpoint::open(dir);
  EXPECT_EQ(ck->files(), (std::vector<std::string>{dir + "/model-00001-of-00002.safetensors",
                                                   dir + "/model-00002-of-00002.safetensors"}));
  EXPECT_EQ(ck->names(), (std::vector<std::string>{"layers.0.w", "layers.1.w"}));
  EXPECT_EQ(bytes_of(*ck->find("layers.1.w")), bytes_of(b, 16));
  EXPECT_EQ(ck->find("layers.1.w")->file, dir + "/model-00002-of-00002.safetensors");
  EXPECT_EQ(ck->find("unlisted"), nullptr);  // the index is authoritative
}

TEST(Checkpoint, IndexMissingShard) {
  std::string dir = test::make_temp_dir("ck-index-missing");
  Files f;
  write_safetensors(dir + "/model-00001-of-00002.safetensors", {f.f32("a", {1}, 0.0f)});
  write_text(dir + "/model.safetensors.index.json",
             R"({"weight_map": {"a": "model-00001-of-00002.safetensors",
                                "b": "model-00002-of-00002.safetensors"}})");
  expect_open_error(
      dir, {"model.safetensors.index.json", "'b'", "model-00002-of-00002.safetensors", "missing"});
}

TEST(Checkpoint, IndexTensorMissingFromShard) {
  std::string dir = test::make_temp_dir("ck-index-absent");
  Files f;
  write_safetensors(dir + "/shard.safetensors", {f.f32("a", {1}, 0.0f)});
  write_text(dir + "/model.safetensors.index.json",
             R"({"weight_map": {"a": "shard.safetensors", "ghost": "shard.safetensors"}})");
  expect_open_error(
      dir, {"model.safetensors.index.json", "'ghost'", "shard.safetensors", "does not contain it"});
}

TEST(Checkpoint, IndexTensorInTwoShards) {
  std::string dir = test::make_temp_dir("ck-index-dup");
  Files f;
  write_safetensors(dir + "/s1.safetensors", {f.f32("a", {1}, 0.0f), f.f32("b", {1}, 0.0f)});
  write_safetensors(dir + "/s2.safetensors", {f.f32("b", {1}, 1.0f)});
  write_text(dir + "/model.safetensors.index.json",
             R"({"weight_map": {"a": "s1.safetensors", "b": "s2.safetensors"}})");
  expect_open_error(dir, {"'b'", "s1.safetensors", "s2.safetensors", "twice"});
}

TEST(Checkpoint, IndexMalformed) {
  std::string dir = test::make_temp_dir("ck-index-bad");
  write_text(dir + "/model.safetensors.index.json", "{\"weight_map\": ");
  expect_open_error(dir, {"model.safetensors.index.json", "not valid JSON"});
  write_text(dir + "/model.safetensors.index.json", R"({"metadata": {}})");
  expect_open_error(dir, {"model.safetensors.index.json", "\"weight_map\""});
  write_text(dir + "/model.safetensors.index.json", R"({"weight_map": {"a": 3}})");
  expect_open_error(dir, {"model.safetensors.index.json", "weight_map[\"a\"]", "file name"});
}

// ---- TP-presharded layout --------------------------------------------------------------------

std::string expert(int e, const char* w) {
  return "model.layers.0.block_sparse_moe.experts." + std::to_string(e) + "." + w + ".weight";
}

// Concatenation of row-major [rows, cols_r] blocks along dim 1, computed independently: row i of
// the result is row i of every block in turn.
std::vector<uint8_t> concat_dim1(const std::vector<std::vector<uint8_t>>& blocks, size_t rows) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i < rows; ++i)
    for (const auto& b : blocks) {
      size_t row_bytes = b.size() / rows;
      out.insert(out.end(), b.begin() + i * row_bytes, b.begin() + (i + 1) * row_bytes);
    }
  return out;
}

std::vector<uint8_t> concat_dim0(const std::vector<std::vector<uint8_t>>& blocks) {
  std::vector<uint8_t> out;
  for (const auto& b : blocks) out.insert(out.end(), b.begin(), b.end());
  return out;
}

void check_tp(int ranks) {
  std::string dir = test::make_temp_dir("ck-tp" + std::to_string(ranks));
  Files f;
  char name[128];
  // Common (replicated) files, as in Grok-2.
  auto embed = f.bf16("model.embed_tokens.weight", {5, 4}, 7);
  write_safetensors(dir + "/pytorch_model-00000-TP-common.safetensors", {embed});
  write_safetensors(dir + "/pytorch_model-00002-TP-common.safetensors",
                    {f.bf16("model.norm.weight", {4}, 1)});

  // Rank files: w1 [2, 4] and w3 [2, 4] per rank (join dim 0), w2 [4, 3] per rank (join dim 1),
  // in three prefixes like 00006/00007/00008, two experts each, plus a replicated tensor.
  std::vector<std::vector<uint8_t>> w1[2], w3[2], w2[2];
  for (int r = 0; r < ranks; ++r) {
    std::vector<TensorToWrite> p6, p7, p8;
    for (int e = 0; e < 2; ++e) {
      uint16_t seed = uint16_t(1000 * r + 100 * e);
      auto t1 = f.bf16(expert(e, "w1"), {2, 4}, seed);
      auto t2 = f.bf16(expert(e, "w2"), {4, 3}, uint16_t(seed + 20));
      auto t3 = f.bf16(expert(e, "w3"), {2, 4}, uint16_t(seed + 50));
      w1[e].push_back(bytes_of(t1, 16));
      w2[e].push_back(bytes_of(t2, 24));
      w3[e].push_back(bytes_of(t3, 16));
      p6.push_back(t1);
      p7.push_back(t2);
      p8.push_back(t3);
    }
    p6.push_back(f.f32("model.layers.0.replicated", {3}, 42.0f));  // same bytes on every rank
    std::snprintf(name, sizeof name, "/pytorch_model-00006-TP-%03d.safetensors", r);
    write_safetensors(dir + name, p6);
    std::snprintf(name, sizeof name, "/pytorch_model-00007-TP-%03d.safetensors", r);
    write_safetensors(dir + name, p7);
    std::snprintf(name, sizeof name, "/pytorch_model-00008-TP-%03d.safetensors", r);
    write_safetensors(dir + name, p8);
  }

  auto ck = Checkpoint::open(dir);
  EXPECT_EQ(ck->files().size(), size_t(2 + 3 * ranks));
  EXPECT_EQ(ck->names().size(), 2u + 6u + 1u);
  EXPECT_EQ(bytes_of(*ck->find("model.embed_tokens.weight")), bytes_of(embed, 40));
  const TensorView* rep = ck->find("model.layers.0.replicated");
  ASSERT_NE(rep, nullptr);
  EXPECT_EQ(static_cast<const float*>(rep->data)[2], 44.0f);
  for (int e = 0; e < 2; ++e) {
    SCOPED_TRACE(e);
    const TensorView* t1 = ck->find(expert(e, "w1"));
    const TensorView* t2 = ck->find(expert(e, "w2"));
    const TensorView* t3 = ck->find(expert(e, "w3"));
    ASSERT_TRUE(t1 && t2 && t3);
    EXPECT_EQ(t1->dtype, DType::BF16);
    EXPECT_EQ(t1->shape, (std::vector<int64_t>{2 * ranks, 4}));
    EXPECT_EQ(t3->shape, (std::vector<int64_t>{2 * ranks, 4}));
    EXPECT_EQ(t2->shape, (std::vector<int64_t>{4, 3 * ranks}));
    EXPECT_EQ(bytes_of(*t1), concat_dim0(w1[e]));
    EXPECT_EQ(bytes_of(*t3), concat_dim0(w3[e]));
    EXPECT_EQ(bytes_of(*t2), concat_dim1(w2[e], 4));
    EXPECT_EQ(t2->file, dir + "/pytorch_model-00007-TP-{000.." + (ranks == 2 ? "001" : "002") +
                            "}.safetensors");
  }
  // Spot-check one element by index arithmetic: w2 row 1, column 3 (first column of rank 1) is
  // rank 1's slice element [1, 0] = seed(rank 1, expert 0) + 20 + 1 * 3.
  uint16_t v;
  std::memcpy(
      &v, static_cast<const uint8_t*>(ck->find(expert(0, "w2"))->data) + 2 * (1 * 3 * ranks + 3),
      2);
  EXPECT_EQ(v, 1000 + 20 + 3);
}

TEST(CheckpointTp, TwoRanks) {
  check_tp(2);
}
TEST(CheckpointTp, ThreeRanks) {
  check_tp(3);
}

TEST(CheckpointTp, MissingRank) {
  std::string dir = test::make_temp_dir("ck-tp-missing");
  Files f;
  write_safetensors(dir + "/m-00000-TP-common.safetensors", {f.f32("norm", {2}, 0.0f)});
  write_safetensors(dir + "/m-00006-TP-000.safetensors", {f.f32("x.w1.weight", {1, 2}, 0.0f)});
  write_safetensors(dir + "/m-00006-TP-002.safetensors", {f.f32("x.w1.weight", {1, 2}, 2.0f)});
  expect_open_error(dir, {"missing rank 001", "m-00006-TP-001.safetensors"});

  // Every prefix needs every rank, even when another prefix has them all.
  write_safetensors(dir + "/m-00006-TP-001.safetensors", {f.f32("x.w1.weight", {1, 2}, 1.0f)});
  write_safetensors(dir + "/m-00007-TP-000.safetensors", {f.f32("x.w2.weight", {2, 1}, 0.0f)});
  expect_open_error(dir, {"missing rank 001", "m-00007-TP-001.safetensors"});
}

TEST(CheckpointTp, MismatchedSliceShapes) {
  std::string dir = test::make_temp_dir("ck-tp-shape");
  Files f;
  write_safetensors(dir + "/m-TP-000.safetensors", {f.f32("e.w1.weight", {2, 4}, 0.0f)});
  write_safetensors(dir + "/m-TP-001.safetensors", {f.f32("e.w1.weight", {2, 5}, 0.0f)});
  expect_open_error(dir, {"'e.w1.weight'", "rank 1", "[2, 5]", "rank 0", "[2, 4]", "dim 0"});

  // w2 joins along dim 1, so its slices must agree in dim 0.
  std::string dir2 = test::make_temp_dir("ck-tp-shape2");
  write_safetensors(dir2 + "/m-TP-000.safetensors", {f.f32("e.w2.weight", {4, 2}, 0.0f)});
  write_safetensors(dir2 + "/m-TP-001.safetensors", {f.f32("e.w2.weight", {3, 2}, 0.0f)});
  expect_open_error(dir2, {"'e.w2.weight'", "rank 1", "[3, 2]", "dim 1"});

  // A 1-D tensor cannot be joined along dim 1.
  std::string dir3 = test::make_temp_dir("ck-tp-shape3");
  write_safetensors(dir3 + "/m-TP-000.safetensors", {f.f32("e.w2.weight", {4}, 0.0f)});
  write_safetensors(dir3 + "/m-TP-001.safetensors", {f.f32("e.w2.weight", {4}, 0.0f)});
  expect_open_error(dir3, {"'e.w2.weight'", "[4]", "dim 1"});
}

TEST(CheckpointTp, MismatchedSliceDtypes) {
  std::string dir = test::make_temp_dir("ck-tp-dtype");
  Files f;
  write_safetensors(dir + "/m-TP-000.safetensors", {f.f32("e.w3.weight", {2, 4}, 0.0f)});
  write_safetensors(dir + "/m-TP-001.safetensors", {f.bf16("e.w3.weight", {2, 4}, 0)});
  expect_open_error(dir, {"'e.w3.weight'", "rank 1", "BF16", "F32"});
}

TEST(CheckpointTp, PerRankTensorWithoutJoinRuleMustBeReplicated) {
  std::string dir = test::make_temp_dir("ck-tp-norule");
  Files f;
  write_safetensors(dir + "/m-TP-000.safetensors", {f.f32("e.bias", {4}, 0.0f)});
  write_safetensors(dir + "/m-TP-001.safetensors", {f.f32("e.bias", {4}, 1.0f)});
  expect_open_error(dir, {"'e.bias'", "rank 1", "m-TP-001.safetensors", "differs from rank 0"});
}

TEST(CheckpointTp, PerRankTensorMissingFromARank) {
  std::string dir = test::make_temp_dir("ck-tp-absent");
  Files f;
  write_safetensors(dir + "/m-TP-000.safetensors",
                    {f.f32("e.w1.weight", {1, 2}, 0.0f), f.f32("f.w1.weight", {1, 2}, 0.0f)});
  write_safetensors(dir + "/m-TP-001.safetensors", {f.f32("e.w1.weight", {1, 2}, 0.0f)});
  expect_open_error(dir, {"'f.w1.weight'", "m-TP-000.safetensors", "rank 1"});
}

TEST(CheckpointTp, DuplicateBetweenCommonAndRank) {
  std::string dir = test::make_temp_dir("ck-tp-dup");
  Files f;
  write_safetensors(dir + "/m-TP-common.safetensors", {f.f32("e.w1.weight", {2, 2}, 0.0f)});
  write_safetensors(dir + "/m-TP-000.safetensors", {f.f32("e.w1.weight", {1, 2}, 0.0f)});
  write_safetensors(dir + "/m-TP-001.safetensors", {f.f32("e.w1.weight", {1, 2}, 0.0f)});
  expect_open_error(dir,
                    {"'e.w1.weight'", "m-TP-common.safetensors", "m-TP-{000..001}.safetensors"});
}

TEST(CheckpointTp, SingleRankIsTakenAsIs) {
  std::string dir = test::make_temp_dir("ck-tp-one");
  Files f;
  auto t = f.f32("e.w2.weight", {2, 3}, 0.0f);
  write_safetensors(dir + "/m-TP-000.safetensors", {t});
  auto ck = Checkpoint::open(dir);
  EXPECT_EQ(ck->find("e.w2.weight")->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(bytes_of(*ck->find("e.w2.weight")), bytes_of(t, 24));
}

}  // namespace
}  // namespace moescope
