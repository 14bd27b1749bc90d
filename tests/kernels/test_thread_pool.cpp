// ThreadPool: chunks partition [0, n) exactly once and respect min_chunk, results are right over
// many consecutive loops, pools are created and destroyed cleanly, size 1 runs inline.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "kernels/cpu/thread_pool.h"

namespace moescope::kernels {
namespace {

TEST(ThreadPool, SizeOneRunsInlineOnTheCaller) {
  ThreadPool pool(1);
  EXPECT_EQ(pool.size(), 1);
  std::vector<std::pair<int64_t, int64_t>> chunks;
  std::thread::id ran_on;
  pool.parallel_for(10, [&](int64_t b, int64_t e) {
    chunks.push_back({b, e});
    ran_on = std::this_thread::get_id();
  });
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0], std::make_pair(int64_t(0), int64_t(10)));
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

TEST(ThreadPool, ZeroMeansHardwareConcurrency) {
  ThreadPool pool(0);
  EXPECT_EQ(pool.size(), int(std::max(1u, std::thread::hardware_concurrency())));
}

TEST(ThreadPool, ChunksCoverTheRangeExactlyOnceAndRespectMinChunk) {
  for (int threads : {1, 2, 3, 5}) {
    ThreadPool pool(threads);
    for (int64_t n : {0, 1, 2, 3, 5, 7, 64, 100, 1001}) {
      for (int64_t min_chunk : {1, 3, 16, 2000}) {
        std::mutex m;
        std::vector<std::pair<int64_t, int64_t>> chunks;
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
        pool.parallel_for(
            n,
            [&](int64_t b, int64_t e) {
              for (int64_t i = b; i < e; ++i) hits[size_t(i)]++;
              std::lock_guard<std::mutex> lock(m);
              chunks.push_back({b, e});
            },
            min_chunk);
        SCOPED_TRACE(testing::Message()
                     << "threads " << threads << " n " << n << " min_chunk " << min_chunk);
        for (int64_t i = 0; i < n; ++i) EXPECT_EQ(hits[size_t(i)].load(), 1) << "index " << i;
        if (n == 0) {
          EXPECT_TRUE(chunks.empty());
          continue;
        }
        EXPECT_LE(chunks.size(), size_t(threads));
        std::sort(chunks.begin(), chunks.end());
        EXPECT_EQ(chunks.front().first, 0);
        EXPECT_EQ(chunks.back().second, n);
        for (size_t c = 0; c < chunks.size(); ++c) {
          EXPECT_LT(chunks[c].first, chunks[c].second);  // no empty chunk
          if (c + 1 < chunks.size()) {
            EXPECT_EQ(chunks[c].second, chunks[c + 1].first);          // contiguous
            EXPECT_GE(chunks[c].second - chunks[c].first, min_chunk);  // only the last is short
          }
        }
      }
    }
  }
}

TEST(ThreadPool, SumsAreRightOverManyConsecutiveLoops) {
  for (int threads : {1, 3}) {
    ThreadPool pool(threads);
    for (int iter = 0; iter < 2000; ++iter) {
      const int64_t n = 1 + (iter * 37) % 500;
      std::atomic<int64_t> sum{0};
      pool.parallel_for(n, [&](int64_t b, int64_t e) {
        int64_t local = 0;
        for (int64_t i = b; i < e; ++i) local += i + iter;
        sum += local;
      });
      ASSERT_EQ(sum.load(), n * (n - 1) / 2 + n * iter)
          << "threads " << threads << " iter " << iter;
    }
  }
}

TEST(ThreadPool, UsesEveryThreadWhenThereIsEnoughWork) {
  ThreadPool pool(3);
  std::mutex m;
  std::set<std::thread::id> ids;
  // Chunks are claimed by whichever thread is free: each one lasts long enough (50 ms) for the
  // workers to wake and claim theirs before the caller could take them over.
  pool.parallel_for(3, [&](int64_t, int64_t) {
    {
      std::lock_guard<std::mutex> lock(m);
      ids.insert(std::this_thread::get_id());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  });
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_TRUE(ids.count(std::this_thread::get_id()));  // the caller takes part
}

TEST(ThreadPool, RepeatedConstructionAndDestruction) {
  for (int iter = 0; iter < 200; ++iter) {
    ThreadPool pool(1 + iter % 4);
    std::atomic<int64_t> sum{0};
    if (iter % 3 != 0)  // also destroy pools that never ran a loop
      pool.parallel_for(50, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) sum += i;
      });
    if (iter % 3 != 0) {
      ASSERT_EQ(sum.load(), 50 * 49 / 2);
    }
  }
}

TEST(ThreadPool, NullPoolRunsInline) {
  std::vector<std::pair<int64_t, int64_t>> chunks;
  parallel_for(nullptr, 7, [&](int64_t b, int64_t e) { chunks.push_back({b, e}); });
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0], std::make_pair(int64_t(0), int64_t(7)));
  parallel_for(nullptr, 0, [&](int64_t, int64_t) { ADD_FAILURE() << "called for n = 0"; });
}

TEST(ThreadPool, FreeFunctionUsesThePool) {
  ThreadPool pool(3);
  std::atomic<int64_t> sum{0};
  std::atomic<int> calls{0};
  parallel_for(&pool, 300, [&](int64_t b, int64_t e) {
    calls++;
    for (int64_t i = b; i < e; ++i) sum += i;
  });
  EXPECT_EQ(sum.load(), 300 * 299 / 2);
  EXPECT_EQ(calls.load(), 3);
}

TEST(ThreadPool, ExceptionOnTheCallersChunkPropagatesAfterTheLoop) {
  ThreadPool pool(3);
  // Which chunks the caller runs depends on timing (under ThreadSanitizer the workers often
  // claim all three first), so loops run until the caller has run one; it throws from the first
  // it runs. A worker's exception would end the process, by design.
  const std::thread::id caller = std::this_thread::get_id();
  bool threw = false;
  for (int attempt = 0; attempt < 1000 && !threw; ++attempt) {
    std::atomic<int> done{0};
    std::atomic<bool> thrown{false};
    try {
      pool.parallel_for(3, [&](int64_t, int64_t) {
        if (std::this_thread::get_id() == caller && !thrown.exchange(true))
          throw std::runtime_error("the caller's chunk");
        done++;
      });
    } catch (const std::runtime_error&) {
      threw = true;
      EXPECT_EQ(done.load(), 2);  // the other chunks finished before parallel_for returned
    }
    EXPECT_EQ(thrown.load(), threw) << "an exception was lost";
  }
  EXPECT_TRUE(threw) << "the caller never ran a chunk in 1000 loops";
  std::atomic<int64_t> sum{0};  // and the pool still works
  pool.parallel_for(10, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) sum += i;
  });
  EXPECT_EQ(sum.load(), 45);
}

}  // namespace
}  // namespace moescope::kernels
