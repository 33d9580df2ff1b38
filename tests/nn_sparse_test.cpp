// Pruned models (include/vkgrad/nn/sparse.hpp): predict with compressed Linear weights against the
// dense predict and a double reference, over densities from 0 to 1 and awkward shapes, with the
// sparse path forced (VKGRAD_SPARSE_CROSSOVER=1) and with the library's default; which path a
// forward takes; when the compressed weights are dropped; the CSR safetensors export and import
// (round trip, size, malformed files); and the weight-sparsity report.
#include "vkgrad/nn/sparse.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>

#include "harness.hpp"
#include "nn_fixtures.hpp"
#include "platform.hpp"

namespace vkgrad::test::nn_sparse {
namespace {

using nn::Linear;
using nn::Sequential;

// The bound of sparse_test.cpp and linear_test.cpp (the error model in gemm_test.cpp): an f32 sum
// of products is within 1e-5 of Σ|terms| of the exact sum, plus 1e-6.
constexpr double kSumRtol = 1e-5;
constexpr double kAtol = 1e-6;
constexpr float kInf = std::numeric_limits<float>::infinity();

// Sets VKGRAD_SPARSE_CROSSOVER (null: unset, the library's measured default) for its lifetime.
struct Crossover {
  explicit Crossover(const char* value) { detail::platform::set_environment("VKGRAD_SPARSE_CROSSOVER", value); }
  ~Crossover() { detail::platform::set_environment("VKGRAD_SPARSE_CROSSOVER", nullptr); }
  Crossover(const Crossover&) = delete;
  Crossover& operator=(const Crossover&) = delete;
};

// Linear(dims[0] → dims[1]) → ReLU → ... → Linear(→ dims.back()), initialised from `seed`.
void build(Sequential& model, const std::vector<uint64_t>& dims, uint64_t seed) {
  for (std::size_t i = 0; i + 1 < dims.size(); ++i) {
    if (i > 0) model.emplace<nn::Activation>(vkgrad::Activation::relu);
    model.emplace<Linear>(dims[i], dims[i + 1]);
  }
  CommandList init(model.context());
  model.reset_parameters(init, seed);
  init.run();
}

// Masks `linear` keeping each weight with probability `density`.
void prune(Linear& linear, double density, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<float> mask(linear.weight().numel());
  for (float& m : mask) m = u(rng) < density ? 1.0f : 0.0f;
  linear.set_weight_mask(mask);
}

// Masks every Linear at the top level of `model` so.
void prune(Sequential& model, double density, uint64_t seed) {
  for (std::size_t i = 0; i < model.size(); ++i) {
    if (auto* linear = dynamic_cast<Linear*>(&model[i])) prune(*linear, density, seed + i);
  }
}

// The model's logits in double for host rows x, and per logit the bound on the error of an f32
// evaluation: each Linear adds Σ_k|W_jk|·e_k (its inputs' errors) plus kSumRtol times the
// magnitude of its terms plus kAtol; ReLU passes errors through (it is 1-Lipschitz). Summation
// order does not enter the bound, so it holds for the dense and the sparse product alike.
struct Reference {
  std::vector<double> value, bound;
};
Reference reference(Sequential& model, const std::vector<float>& x, uint64_t rows) {
  std::vector<double> v(x.begin(), x.end()), e(x.size(), 0.0);
  uint64_t width = x.size() / rows;
  for (std::size_t i = 0; i < model.size(); ++i) {
    if (auto* linear = dynamic_cast<Linear*>(&model[i])) {
      const auto w = linear->weight().to_vector<float>();
      const auto b = linear->bias().to_vector<float>();
      const uint64_t out = b.size();
      std::vector<double> nv(rows * out), ne(rows * out);
      for (uint64_t r = 0; r < rows; ++r) {
        for (uint64_t j = 0; j < out; ++j) {
          double sum = b[j], scale = std::fabs(b[j]), carried = 0;
          for (uint64_t k = 0; k < width; ++k) {
            sum += double(w[j * width + k]) * v[r * width + k];
            scale += std::fabs(double(w[j * width + k]) * v[r * width + k]);
            carried += std::fabs(double(w[j * width + k])) * e[r * width + k];
          }
          nv[r * out + j] = sum;
          ne[r * out + j] = carried + kSumRtol * (scale + carried) + kAtol;
        }
      }
      v = std::move(nv);
      e = std::move(ne);
      width = out;
    } else {
      for (double& a : v) a = std::max(a, 0.0);
    }
  }
  return {v, e};
}

// Every logit of `got` within the reference's bound; on failure, the first offender.
void require_within(const std::vector<float>& got, const Reference& ref, const std::string& what) {
  REQUIRE(got.size() == ref.value.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (!(std::fabs(double(got[i]) - ref.value[i]) <= ref.bound[i])) {
      FAIL(what << ": logit " << i << " is " << got[i] << ", reference " << ref.value[i] << " ± " << ref.bound[i]);
    }
  }
}

std::vector<float> predict(Sequential& model, const std::vector<float>& x, uint64_t rows) {
  return model.predict(x, rows);
}

}  // namespace

TEST_CASE("predict with compressed weights matches the dense predict", "[nn][sparse]") {
  Context& ctx = context();
  const std::vector<std::vector<uint64_t>> shapes = {{7, 1}, {257, 13, 5}, {784, 300, 100, 10}};
  const double densities[] = {0.0, 0.02, 0.1, 0.5, 1.0};
  const uint64_t batches[] = {1, 7, 130};
  for (const char* crossover : {"1", static_cast<const char*>(nullptr)}) {
    Crossover env(crossover);
    for (std::size_t s = 0; s < shapes.size(); ++s) {
      for (const double density : densities) {
        Sequential model(ctx);
        build(model, shapes[s], 3 + s);
        prune(model, density, 11 + s);
        for (const uint64_t rows : batches) {
          const auto x = uniform(rows * shapes[s][0], -1, 1, 100 + rows);
          const auto dense = predict(model, x, rows);
          REQUIRE(nn::compress_weights(model) == shapes[s].size() - 1);
          const auto sparse = predict(model, x, rows);
          nn::drop_compressed_weights(model);
          const Reference ref = reference(model, x, rows);
          const std::string what = std::string("crossover ") + (crossover ? crossover : "default") + ", shape " +
                                   std::to_string(s) + ", density " + std::to_string(density) + ", rows " +
                                   std::to_string(rows);
          require_within(dense, ref, what + " (dense)");
          require_within(sparse, ref, what + " (compressed)");
        }
      }
    }
  }
  require_no_validation_messages();
}

// X holds +inf in column 0, whose weights are all pruned: the dense product gives NaN there (0 · inf),
// the sparse one skips the pruned weights (vkgrad/sparse.hpp), so the output tells the paths apart.
TEST_CASE("Linear takes the sparse path exactly where sparse_is_faster says so, in eval mode only", "[nn][sparse]") {
  Context& ctx = context();
  const uint64_t in = 5, out = 3;
  for (const uint64_t rows : {uint64_t(1), uint64_t(7), uint64_t(1024)}) {
    Linear linear(ctx, in, out);
    std::vector<float> mask(in * out, 1.0f);
    for (uint64_t j = 0; j < out; ++j) mask[j * in] = 0.0f;
    linear.set_weight_mask(mask);
    std::vector<float> x = uniform(rows * in, -1, 1, 5);
    for (uint64_t r = 0; r < rows; ++r) x[r * in] = kInf;
    Tensor X = Tensor::from(ctx, {rows, in}, x), Y(ctx, {rows, out});
    // Whether the output of a forward recorded now in `training` mode is finite (sparse path).
    auto sparse_path = [&](bool training) {
      linear.set_training(training);
      Y.fill(poison);
      CommandList cmd(ctx);
      linear.forward(cmd, X, Y);
      cmd.run();
      const auto y = Y.to_vector<float>();
      for (float v : y) REQUIRE(std::isfinite(v) == std::isfinite(y[0]));
      return std::isfinite(y[0]);
    };
    CHECK_FALSE(sparse_path(false));  // not compressed
    linear.compress_weight();
    REQUIRE(linear.compressed() != nullptr);
    const double density = linear.compressed()->density();
    {
      Crossover env("1");
      CHECK(sparse_path(false));
    }
    {
      Crossover env("0");  // density > 0: dense
      CHECK_FALSE(sparse_path(false));
    }
    CHECK(sparse_path(false) == sparse_is_faster(ctx, rows, in, out, density));
    {
      Crossover env("1");
      CHECK_FALSE(sparse_path(true));  // training mode: dense, and the snapshot is dropped
      CHECK(linear.compressed() == nullptr);
      CHECK_FALSE(sparse_path(false));
    }
  }
  require_no_validation_messages();
}

TEST_CASE("compressed weights are dropped whenever the nn API may change the weights", "[nn][sparse]") {
  Context& ctx = context();
  Crossover env("1");  // a stale snapshot would be used wherever it exists
  const uint64_t rows = 9;
  const auto x = uniform(rows * 24, -1, 1, 8);
  Sequential model(ctx);
  build(model, {24, 16, 3}, 1);
  prune(model, 0.3, 2);
  auto& first = dynamic_cast<Linear&>(model[0]);
  auto compressed_again = [&] {
    REQUIRE(nn::compress_weights(model) == 2);
    REQUIRE(first.compressed() != nullptr);
  };
  // Each change, then predict against the reference of the weights as they are now.
  auto require_current = [&](const std::string& what) {
    CHECK(first.compressed() == nullptr);
    require_within(predict(model, x, rows), reference(model, x, rows), what);
  };

  compressed_again();
  prune(model, 0.1, 3);  // set_weight_mask
  require_current("after set_weight_mask");

  compressed_again();
  {
    CommandList cmd(ctx);
    model.reset_parameters(cmd, 77);
    cmd.run();
  }
  require_current("after reset_parameters");

  compressed_again();
  {
    Sequential other(ctx);
    build(other, {24, 16, 3}, 5);
    prune(other, 0.2, 6);
    model.load_state_dict(other.state_dict());
  }
  require_current("after load_state_dict");

  compressed_again();
  {
    Tensor X = Tensor::from(ctx, {rows, 24}, x), Y(ctx, {rows, 3});
    CommandList cmd(ctx);
    model.train();
    model.forward(cmd, X, Y);  // recording in training mode drops it
    model.eval();
  }
  require_current("after a training-mode forward");

  compressed_again();
  {
    auto data = synthetic(ctx, 64, 24, 3, 4);
    nn::CrossEntropyLoss loss(ctx), twin_loss(ctx);
    nn::SGD opt(model, {.lr = 0.5f});
    nn::TrainerOptions o;
    o.batch = 16;
    nn::Trainer trainer(ctx, model, loss, opt, o);
    const nn::Metrics before = trainer.evaluate(data);  // an eval list over the snapshot
    trainer.train_epoch(data);
    require_current("after Trainer::train_epoch");
    // The eval list recorded over the snapshot is recorded again: evaluating gives the metrics of
    // the trained weights, those of a model that never compressed.
    const nn::Metrics after = trainer.evaluate(data);
    Sequential twin(ctx);
    build(twin, {24, 16, 3}, 0);
    twin.load_state_dict(model.state_dict());
    nn::SGD twin_opt(twin, {.lr = 0.5f});
    nn::Trainer twin_trainer(ctx, twin, twin_loss, twin_opt, o);
    CHECK(after.loss == twin_trainer.evaluate(data).loss);
    CHECK(after.loss != before.loss);
  }
  require_no_validation_messages();
}

TEST_CASE("save_sparse and load_sparse round-trip the state_dict bit for bit", "[nn][sparse]") {
  Context& ctx = context();
  TempDir tmp("nn_sparse_roundtrip");
  auto make = [&](Sequential& m, uint64_t seed) {
    m.emplace<Linear>(20, 30);
    m.emplace<nn::BatchNorm1d>(30);
    m.emplace<nn::Activation>(vkgrad::Activation::relu);
    auto inner = std::make_unique<Sequential>(ctx);
    inner->emplace<Linear>(30, 30);
    m.emplace<nn::Residual>(std::move(inner));
    m.emplace<Linear>(30, 5);
    m.emplace<Linear>(5, 32769);  // every column fits I16
    m.emplace<Linear>(32769, 1);  // columns need I32
    CommandList init(ctx);
    m.reset_parameters(init, seed);
    init.run();
  };
  Sequential model(ctx);
  make(model, 1);
  prune(model, 0.1, 4);
  prune(dynamic_cast<Linear&>(dynamic_cast<Sequential&>(dynamic_cast<nn::Residual&>(model[3]).fn())[0]), 0.2, 5);
  auto& dense_layer = dynamic_cast<Linear&>(model[4]);
  dense_layer.remove_weight_mask();
  {
    CommandList init(ctx);
    dense_layer.reset_parameters(init, 9);  // dense: stays dense in the file
    init.run();
  }
  // A −0.0 weight comes back as +0.0, a structural zero.
  auto& first = dynamic_cast<Linear&>(model[0]);
  auto w0 = first.weight().to_vector<float>();
  w0[3] = -0.0f;
  first.weight().upload(std::span<const float>(w0));

  const auto path = tmp.path / "model.safetensors";
  nn::save_sparse(model, path);
  const SafetensorsFile file = load_safetensors(path);
  CHECK(file.metadata.at("format") == "pt");
  CHECK(file.metadata.at("sparse_csr.0.weight") == "[30, 20]");
  CHECK(file.metadata.at("sparse_csr.3.fn.0.weight") == "[30, 30]");
  CHECK(file.metadata.count("sparse_csr.4.weight") == 0);
  CHECK(file.find("4.weight") != nullptr);
  CHECK(file.find("0.weight") == nullptr);
  CHECK(file.find("0.weight.crow_indices")->dtype == "I32");
  CHECK(file.find("5.weight.col_indices")->dtype == "I16");
  CHECK(file.find("6.weight.col_indices")->dtype == "I32");
  CHECK(file.find("0.weight.values")->dtype == "F32");

  Sequential loaded(ctx);
  make(loaded, 2);
  nn::load_sparse(loaded, path);
  auto expected = model.state_dict();
  w0[3] = 0.0f;
  expected[0].second = HostTensor::from_floats({30, 20}, w0);
  const auto got = loaded.state_dict();
  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO(got[i].first);
    CHECK(got[i].first == expected[i].first);
    CHECK(got[i].second.dtype == expected[i].second.dtype);
    CHECK(got[i].second.shape == expected[i].second.shape);
    CHECK(got[i].second.bytes == expected[i].second.bytes);  // bit for bit, +0.0 included
  }
  // A file without sparse entries is a plain state_dict.
  save_safetensors(tmp.path / "dense.safetensors", expected);
  CHECK(nn::load_sparse_state_dict(tmp.path / "dense.safetensors").size() == expected.size());

  require_refused([&] { nn::save_sparse(model, path, {.max_density = 1.5}); }, {"max_density"});
  require_refused([&] { nn::save_sparse(model, path, {.metadata = {{"sparse_csr.x", "1"}}}); }, {"reserved"});
  require_no_validation_messages();
}

namespace {

// The file's data bytes (after the 8-byte length and the header).
uint64_t data_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  uint64_t header = 0;
  in.read(reinterpret_cast<char*>(&header), 8);
  return std::filesystem::file_size(path) - 8 - header;
}

}  // namespace

TEST_CASE("a 90 % sparse model's CSR file holds exactly the CSR bytes", "[nn][sparse]") {
  Context& ctx = context();
  TempDir tmp("nn_sparse_size");
  Sequential model(ctx);
  build(model, {784, 300, 100, 10}, 1);
  prune(model, 0.1, 2);
  const auto dense_path = tmp.path / "dense.safetensors", sparse_path = tmp.path / "sparse.safetensors";
  save_safetensors(dense_path, model.state_dict());
  nn::save_sparse(model, sparse_path);
  // Each weight: 4 bytes per element dense; I32 row offsets, I16 columns and F32 values in CSR.
  uint64_t dense_weights = 0, csr = 0;
  for (std::size_t i = 0; i < model.size(); ++i) {
    auto* linear = dynamic_cast<Linear*>(&model[i]);
    if (linear == nullptr) continue;
    const auto w = linear->weight().to_vector<float>();
    uint64_t nnz = 0;
    for (float v : w) nnz += v != 0.0f;
    dense_weights += 4 * w.size();
    csr += 4 * (linear->weight().shape()[0] + 1) + (2 + 4) * nnz;
  }
  CHECK(data_bytes(sparse_path) == data_bytes(dense_path) - dense_weights + csr);
  CHECK(std::filesystem::file_size(sparse_path) < std::filesystem::file_size(dense_path));
  INFO("dense " << std::filesystem::file_size(dense_path) << " bytes, CSR " << std::filesystem::file_size(sparse_path));
}

namespace {

HostTensor ints(const std::string& dtype, std::vector<int64_t> v) {
  HostTensor t{dtype, {v.size()}, {}};
  const std::size_t size = safetensors_dtype_size(dtype);
  t.bytes.resize(v.size() * size);
  for (std::size_t i = 0; i < v.size(); ++i) std::memcpy(&t.bytes[i * size], &v[i], size);  // little endian
  return t;
}

}  // namespace

TEST_CASE("load_sparse refuses malformed CSR files and changes nothing", "[nn][sparse]") {
  Context& ctx = context();
  TempDir tmp("nn_sparse_malformed");
  Sequential model(ctx);
  build(model, {4, 3}, 1);  // 0.weight [3, 4], 0.bias [3]
  const auto before = all_weights(model);
  const HostTensor bias = HostTensor::from_floats({3}, std::vector<float>{1, 2, 3});
  // A valid triple: row 0 {1: 5}, row 1 {}, row 2 {0: 6, 3: 7}.
  struct Csr {
    HostTensor crow = ints("I32", {0, 1, 1, 3});
    HostTensor col = ints("I16", {1, 0, 3});
    HostTensor values = HostTensor::from_floats({3}, std::vector<float>{5, 6, 7});
    std::string shape = "[3, 4]";
    bool with_values = true, with_dense = false;
  };
  const auto path = tmp.path / "m.safetensors";
  auto write = [&](const Csr& c) {
    std::vector<std::pair<std::string, HostTensor>> t{{"0.weight.crow_indices", c.crow},
                                                      {"0.weight.col_indices", c.col}};
    if (c.with_values) t.emplace_back("0.weight.values", c.values);
    if (c.with_dense) t.emplace_back("0.weight", HostTensor::from_floats({3, 4}, std::vector<float>(12)));
    t.emplace_back("0.bias", bias);
    save_safetensors(path, t, {{"sparse_csr.0.weight", c.shape}});
  };
  write(Csr{});
  {
    Sequential check(ctx);
    build(check, {4, 3}, 2);
    nn::load_sparse(check, path);  // the valid file loads
    CHECK(dynamic_cast<Linear&>(check[0]).weight().to_vector<float>() ==
          std::vector<float>{0, 5, 0, 0, 0, 0, 0, 0, 6, 0, 0, 7});
  }
  auto refused = [&](Csr c, std::initializer_list<const char*> needles) {
    write(c);
    require_refused([&] { nn::load_sparse(model, path); }, needles);
    CHECK(all_weights(model) == before);
  };
  Csr c;
  c.crow = ints("I32", {1, 1, 1, 3});
  refused(c, {"0.weight", "starts at 1"});
  c = Csr{};
  c.crow = ints("I64", {0, 2, 1, 3});
  refused(c, {"crow_indices[2] = 1"});
  c = Csr{};
  c.crow = ints("I32", {0, 1, 1, 2});
  refused(c, {"ends at 2"});
  c = Csr{};
  c.crow = ints("I32", {0, 1, 1, 9});
  refused(c, {"crow_indices[3] = 9"});
  c = Csr{};
  c.crow = ints("I32", {0, 1, 3});
  refused(c, {"crow_indices is [3]", "expected [4]"});
  c = Csr{};
  c.col = ints("I16", {4, 0, 3});
  refused(c, {"col_indices[0] = 4", "outside [0, 4)"});
  c = Csr{};
  c.col = ints("I32", {1, 0, -1});
  refused(c, {"col_indices[2] = -1"});
  c = Csr{};
  c.col = ints("I16", {1, 3, 0});
  refused(c, {"not strictly ascending", "3 then 0"});
  c = Csr{};
  c.col = ints("I16", {1, 3, 3});
  refused(c, {"not strictly ascending"});
  c = Csr{};
  c.col = ints("I16", {1, 0});
  refused(c, {"col_indices is [2] but values [3]"});
  c = Csr{};
  c.values = ints("I32", {5, 6, 7});
  refused(c, {"values is I32"});
  c = Csr{};
  c.crow = HostTensor::from_floats({4}, std::vector<float>{0, 1, 1, 3});
  refused(c, {"crow_indices is F32"});
  c = Csr{};
  c.with_values = false;
  refused(c, {"missing '0.weight.values'"});
  c = Csr{};
  c.with_dense = true;
  refused(c, {"both the dense tensor and its CSR form"});
  for (const char* shape : {"[3]", "[0, 4]", "[3, -4]", "x", "[4294967296, 2]"}) {
    c = Csr{};
    c.shape = shape;
    refused(c, {"dense shape"});
  }
  c = Csr{};
  c.shape = "[3, 5]";  // the triple fits, the model does not
  refused(c, {"0.weight"});
  // Truncated: the data ends early.
  write(Csr{});
  const auto size = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, size - 3);
  require_refused([&] { nn::load_sparse(model, path); }, {"truncated"});
  CHECK(all_weights(model) == before);
  require_no_validation_messages();
}

TEST_CASE("weight_sparsity counts the zero weights of every Linear", "[nn][sparse]") {
  Context& ctx = context();
  Sequential model(ctx);
  build(model, {30, 20, 7}, 1);
  prune(model, 0.25, 3);
  auto inner = std::make_unique<Sequential>(ctx);
  inner->emplace<Linear>(7, 7);
  model.emplace<nn::Residual>(std::move(inner));
  const auto report = nn::weight_sparsity(model);
  const std::vector<std::string> names{"0.weight", "2.weight", "3.fn.0.weight"};
  REQUIRE(report.layers.size() == names.size());
  uint64_t elements = 0, zeros = 0;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto& l = report.layers[i];
    CHECK(l.name == names[i]);
    Linear& linear =
        i < 2 ? dynamic_cast<Linear&>(model[2 * i])
              : dynamic_cast<Linear&>(dynamic_cast<Sequential&>(dynamic_cast<nn::Residual&>(model[3]).fn())[0]);
    const auto w = linear.weight().to_vector<float>();
    uint64_t host_zeros = 0;
    for (float v : w) host_zeros += v == 0.0f;
    CHECK(l.elements == w.size());
    CHECK(l.zeros == host_zeros);
    CHECK(l.sparsity() == double(host_zeros) / double(w.size()));
    elements += w.size();
    zeros += host_zeros;
  }
  CHECK(report.layers[0].zeros > 0);  // pruned
  CHECK(report.total.name == "total");
  CHECK(report.total.elements == elements);
  CHECK(report.total.zeros == zeros);
  const std::string table = nn::format_weight_sparsity(report);
  char total_line[128];
  std::snprintf(total_line, sizeof total_line, "%12llu %12llu %8.2f%%", static_cast<unsigned long long>(elements),
                static_cast<unsigned long long>(zeros), 100.0 * double(zeros) / double(elements));
  CHECK(table.find("3.fn.0.weight") != std::string::npos);
  const std::string last = table.substr(table.rfind('\n', table.size() - 2) + 1);
  CHECK(last.rfind("total ", 0) == 0);
  CHECK(last.find(total_line) != std::string::npos);
}

}  // namespace vkgrad::test::nn_sparse
