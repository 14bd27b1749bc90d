// Weights packed for the CPU kernels (engine/weights/cpu_packing.h): every matrix keeps every
// element (at() agrees with the row-major source), tied embedding and output stay one matrix,
// packing in place gives the copy's bytes, a packed checkpoint's mapped pages are handed back
// while memory it owns is never touched, and sharding refuses packed weights.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <vector>

#include "engine/config/bench_presets.h"
#include "engine/parallel/shard_weights.h"
#include "engine/weights/cpu_packing.h"
#include "engine/weights/file_pages.h"
#include "engine/weights/synthetic_weights.h"
#include "kernels/cpu/weight_packing.h"
#include "tests/common/expect_error.h"

namespace moescope {
namespace {

using kernels::DType;
using kernels::WeightLayout;

// f(a, b) for every pair of corresponding matrices the forward pass multiplies by.
void for_each_pair(const ModelWeights& a, const ModelWeights& b,
                   const std::function<void(const WeightMatrix&, const WeightMatrix&)>& f) {
  f(a.lm_head, b.lm_head);
  for (size_t l = 0; l < a.layers.size(); ++l) {
    const LayerWeights &x = a.layers[l], &y = b.layers[l];
    f(x.wq, y.wq);
    f(x.wk, y.wk);
    f(x.wv, y.wv);
    f(x.wo, y.wo);
    f(x.router, y.router);
    for (size_t e = 0; e < x.experts.size(); ++e) {
      f(x.experts[e].gate, y.experts[e].gate);
      f(x.experts[e].up, y.experts[e].up);
      f(x.experts[e].down, y.experts[e].down);
    }
  }
}

// tinyA's shapes with fewer layers and a small vocabulary: quick, and every matrix packs.
ModelConfig small_config() {
  ModelConfig c = bench_preset_config("tinyA");
  c.n_layers = 2;
  c.vocab_size = 258;  // two tail rows past the last block of four
  return c;
}

TEST(CpuPacking, KeepsEveryElementAndTiesTheOutput) {
  const ModelConfig c = small_config();
  for (DType dtype : {DType::F32, DType::BF16, DType::I8}) {
    SCOPED_TRACE(kernels::dtype_name(dtype));
    SyntheticWeightOptions o;
    o.dtype = dtype;
    const auto src = synthetic_weights(c, o);
    const auto packed = pack_for_cpu(src);
    ASSERT_TRUE(packed->cpu_packed);
    EXPECT_EQ(pack_for_cpu(packed), packed);  // packing twice is a no-op
    EXPECT_GT(packed->packed_bytes, 0u);
    int n_packed = 0;
    for_each_pair(*src, *packed, [&](const WeightMatrix& a, const WeightMatrix& b) {
      ASSERT_EQ(a.layout, WeightLayout::RowMajor);
      ASSERT_EQ(b.layout, WeightLayout::Packed4) << a.n << " x " << a.k;
      ASSERT_NE(a.data, b.data);
      ++n_packed;
      for (int64_t r = 0; r < a.n; ++r)
        for (int64_t k = 0; k < a.k; k += 7) ASSERT_EQ(a.at(r, k), b.at(r, k)) << r << "," << k;
    });
    EXPECT_EQ(n_packed, 1 + 2 * (5 + 3 * 8));
    EXPECT_EQ(packed->embed.data, packed->lm_head.data) << "tied: one matrix";
    EXPECT_EQ(packed->layers[0].norm_pre_attn, src->layers[0].norm_pre_attn);
  }
}

TEST(CpuPacking, InPlaceGivesTheCopysBytes) {
  const ModelConfig c = small_config();
  SyntheticWeightOptions o;
  o.dtype = DType::BF16;
  const auto copied = pack_for_cpu(synthetic_weights(c, o));
  o.pack_for_cpu = true;
  const auto in_place = synthetic_weights(c, o);
  ASSERT_TRUE(in_place->cpu_packed);
  EXPECT_EQ(in_place->embed.data, in_place->lm_head.data);
  for_each_pair(*copied, *in_place, [&](const WeightMatrix& a, const WeightMatrix& b) {
    ASSERT_EQ(b.layout, WeightLayout::Packed4);
    ASSERT_EQ(std::memcmp(a.data, b.data, size_t(a.n * a.k) * kernels::dtype_size(a.dtype)), 0);
  });
}

// The process's resident bytes (VmRSS).
long rss_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6)) * 1024;
  return -1;
}

TEST(FilePages, ReleasesFileMappingsAndNeverAnonymousMemory) {
  const size_t n = size_t(16) << 20;
  const std::string path =
      (std::filesystem::temp_directory_path() / ("moescope_file_pages_" + std::to_string(getpid())))
          .string();
  {
    std::vector<char> bytes(n);
    for (size_t i = 0; i < n; ++i) bytes[i] = char(i * 31 + 7);
    std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(n));
  }
  const int fd = open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  void* map = mmap(nullptr, n, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  std::filesystem::remove(path);
  ASSERT_NE(map, MAP_FAILED);
  const auto* p = static_cast<const unsigned char*>(map);
  const volatile unsigned char* touch = p;
  for (size_t i = 0; i < n; i += 4096) (void)touch[i];  // fault every page in
  const long before = rss_bytes();
  ASSERT_GT(before, long(n));
  EXPECT_GE(FilePages().release(p + 100, n - 200), n - 2 * 4096);
  const long after = rss_bytes();
  EXPECT_LT(after, before - long(n / 2)) << "mapped pages still resident";
  for (size_t i = 0; i < n; i += 4093) ASSERT_EQ(p[i], (unsigned char)(i * 31 + 7)) << i;
  munmap(map, n);

  std::vector<char> heap(n, 'x');
  EXPECT_EQ(FilePages().release(heap.data(), heap.size()), 0u);
  for (size_t i = 0; i < n; i += 4096) ASSERT_EQ(heap[i], 'x');
}

TEST(CpuPacking, ShardingRefusesPackedWeights) {
  const ModelConfig c = small_config();
  SyntheticWeightOptions o;
  o.pack_for_cpu = true;
  const auto w = synthetic_weights(c, o);
  test::expect_error([&] { parallel::shard_weights(c, w, 2, 0); }, {"row-major", "packed"});
}

}  // namespace
}  // namespace moescope
