// Batch assembly on the device: gather rows (u8 → f32 with scale and shift, or f32), gather labels,
// one-hot — against tests/reference/data_ref.
#include <catch2/catch.hpp>
#include <random>

#include "harness.hpp"
#include "reference/data_ref.hpp"

namespace vkgrad::test {
namespace {

std::vector<int32_t> random_indices(std::size_t batch, std::size_t rows, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int32_t> dist(0, int32_t(rows) - 1);
  std::vector<int32_t> idx(batch);
  for (auto& i : idx) i = dist(rng);
  return idx;
}

}  // namespace

TEST_CASE("gather_rows converts u8 rows picked by index to normalised f32", "[data]") {
  Context& ctx = context();
  // (rows, features): odd feature counts put rows at every byte offset inside the packed words.
  for (auto [rows, features, batch] : {std::tuple<std::size_t, std::size_t, std::size_t>{1, 1, 1},
                                       {7, 3, 5},
                                       {257, 784, 128},
                                       {60000, 17, 1031},
                                       {70000, 1, 70000}}) {  // more rows than one grid dimension holds
    CAPTURE(rows, features, batch);
    std::vector<uint8_t> src(rows * features);
    for (std::size_t i = 0; i < src.size(); ++i) src[i] = uint8_t((i * 37 + i / 7) & 0xff);
    auto idx = random_indices(batch, rows, rows + batch);
    idx[0] = int32_t(rows - 1);  // the last row: reads up to the final (partial) word
    if (batch > 2) idx[2] = -1;  // a NaN row
    const float scale = 1.0f / (255.0f * 0.3081f), shift = -0.1307f / 0.3081f;
    Tensor tsrc = Tensor::from<uint8_t>(ctx, {rows, features}, src);
    Tensor tidx = Tensor::from<int32_t>(ctx, {batch}, idx);
    Tensor out(ctx, {batch, features});
    out.fill(poison);
    CommandList cmd(ctx);
    gather_rows(cmd, tsrc, tidx, out, scale, shift);
    cmd.run();
    require_no_validation_messages();
    const auto m = compare(out.to_vector(), ref::gather_rows(src, rows, features, idx, scale, shift), 1e-6, 1e-6);
    CHECK(m.count == 0);
  }
}

TEST_CASE("gather_rows copies f32 rows bit for bit and gives NaN rows for bad indices", "[data]") {
  Context& ctx = context();
  for (const std::size_t features : {5u, 8u}) {  // 8: the path that moves 4 features at a time
    CAPTURE(features);
    const std::size_t rows = 300, batch = 9;
    auto src = uniform(rows * features, -1e4f, 1e4f, 3);
    src[features + 2] = std::numeric_limits<float>::infinity();
    auto idx = random_indices(batch, rows, 4);
    idx[1] = 1;  // holds the inf
    idx[3] = -1;
    idx[4] = int32_t(rows);
    Tensor tsrc = Tensor::from(ctx, {rows, features}, src);
    Tensor tidx = Tensor::from<int32_t>(ctx, {batch}, idx);
    Tensor out(ctx, {batch, features});
    out.fill(poison);
    CommandList cmd(ctx);
    gather_rows(cmd, tsrc, tidx, out);
    cmd.run();
    require_no_validation_messages();
    const auto m = compare(out.to_vector(), ref::gather_rows(src, rows, features, idx, 1.0, 0.0), 0.0, 0.0);
    CHECK(m.count == 0);
  }
}

TEST_CASE("gather_labels picks u8 and i32 labels, -1 for bad indices", "[data]") {
  Context& ctx = context();
  for (std::size_t rows : {1ul, 7ul, 10007ul}) {
    CAPTURE(rows);
    std::vector<uint8_t> labels8(rows);
    std::vector<int32_t> labels32(rows);
    for (std::size_t i = 0; i < rows; ++i) labels32[i] = labels8[i] = uint8_t((i * 7 + 3) % 251);
    auto idx = random_indices(257, rows, rows);
    idx[5] = -7;
    idx[6] = int32_t(rows);
    Tensor t8 = Tensor::from<uint8_t>(ctx, {rows}, labels8);
    Tensor t32 = Tensor::from<int32_t>(ctx, {rows}, labels32);
    Tensor tidx = Tensor::from<int32_t>(ctx, {idx.size()}, idx);
    Tensor out8(ctx, {idx.size()}, DType::i32), out32(ctx, {idx.size()}, DType::i32);
    out8.fill(-12345);
    out32.fill(-12345);
    CommandList cmd(ctx);
    gather_labels(cmd, t8, tidx, out8);
    gather_labels(cmd, t32, tidx, out32);
    cmd.run();
    require_no_validation_messages();
    CHECK(out8.to_vector<int32_t>() == ref::gather_labels(labels8, idx));
    CHECK(out32.to_vector<int32_t>() == ref::gather_labels(labels32, idx));
  }
}

TEST_CASE("one_hot marks the label's column and NaN-fills rows with bad labels", "[data]") {
  Context& ctx = context();
  for (std::size_t classes : {1ul, 10ul, 257ul}) {
    CAPTURE(classes);
    std::vector<int32_t> labels(1031);
    for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = int32_t((i * 13) % classes);
    labels[3] = -1;
    labels[4] = int32_t(classes);
    Tensor tl = Tensor::from<int32_t>(ctx, {labels.size()}, labels);
    Tensor out(ctx, {labels.size(), classes});
    out.fill(poison);
    CommandList cmd(ctx);
    one_hot(cmd, tl, out, 0.9f, 0.01f);
    cmd.run();
    require_no_validation_messages();
    CHECK(compare(out.to_vector(), ref::one_hot(labels, classes, 0.9f, 0.01f), 0.0, 0.0).count == 0);
  }
}

TEST_CASE("batch-assembly ops refuse mismatched shapes and dtypes", "[data]") {
  Context& ctx = context();
  Tensor src(ctx, {10, 4}, DType::u8), idx(ctx, {3}, DType::i32), out(ctx, {3, 5});
  CommandList cmd(ctx);
  CHECK_THROWS_WITH(gather_rows(cmd, src, idx, out), Catch::Contains("[3, 5]") && Catch::Contains("[10, 4]"));
  Tensor fidx(ctx, {3});
  Tensor good(ctx, {3, 4});
  CHECK_THROWS_WITH(gather_rows(cmd, src, fidx, good), Catch::Contains("i32"));
  Tensor labels(ctx, {10});
  Tensor lout(ctx, {3}, DType::i32);
  CHECK_THROWS_WITH(gather_labels(cmd, labels, idx, lout), Catch::Contains("u8 or i32"));
  Tensor four_rows(ctx, {4, 4});
  CHECK_THROWS_WITH(one_hot(cmd, idx, four_rows), Catch::Contains("[4, 4]"));
  CHECK(cmd.dispatch_count() == 0);
}

TEST_CASE("select_batch takes the batch at the device-side cursor, -1 past the end", "[data]") {
  Context& ctx = context();
  const std::size_t count = 1031;  // a prime: the last batch is partial
  std::vector<int32_t> perm(count);
  for (std::size_t i = 0; i < count; ++i) perm[i] = int32_t((i * 389) % count);  // a permutation (389 ⟂ 1031)
  Tensor tperm = Tensor::from<int32_t>(ctx, {count}, perm);
  Tensor cursor(ctx, {1}, DType::i32);
  for (uint32_t stride : {1u, 7u, 128u}) {
    for (uint32_t batch : {1u, 5u, 128u}) {
      for (int32_t c : {0, 1, 8, int32_t(count / stride), int32_t(count / stride) + 1, -1, 0x7fffffff}) {
        CAPTURE(stride, batch, c);
        cursor.upload<int32_t>(std::vector<int32_t>{c});
        Tensor index(ctx, {batch}, DType::i32);
        index.fill(float(0x12345));
        CommandList cmd(ctx);
        select_batch(cmd, tperm, cursor, stride, index);
        cmd.run();
        require_no_validation_messages();
        // Reference: position c·stride + b, in 64-bit arithmetic.
        std::vector<int32_t> expected(batch);
        for (uint32_t b = 0; b < batch; ++b) {
          const int64_t pos = int64_t(c) * stride + b;
          expected[b] = (c < 0 || pos >= int64_t(count)) ? -1 : perm[std::size_t(pos)];
        }
        CHECK(index.to_vector<int32_t>() == expected);
      }
    }
  }
  Tensor f(ctx, {4}), two(ctx, {2}, DType::i32), idx(ctx, {4}, DType::i32);
  CommandList cmd(ctx);
  CHECK_THROWS_WITH(select_batch(cmd, f, cursor, 1, idx), Catch::Contains("permutation") && Catch::Contains("i32"));
  CHECK_THROWS_WITH(select_batch(cmd, tperm, two, 1, idx), Catch::Contains("cursor"));
}

}  // namespace vkgrad::test
