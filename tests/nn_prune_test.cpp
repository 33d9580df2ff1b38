// Pruning (vkgrad/nn/prune.hpp): each pruner's mask against a plain host reference written here
// (a full sort of |w| or of row norms, groups checked one by one), exact pruned counts with PyTorch's
// rounding, ties and NaN, monotone masks, the shrunk model's outputs against the masked model's,
// the schedules against their formulas, the Pruner, and misuse.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cfenv>
#include <cmath>
#include <functional>
#include <tuple>

#include "harness.hpp"

// Its own namespace: the unity build may compile it with other tests' helpers.
namespace vkgrad::test::pruning {
namespace {

using nn::Linear;
using nn::PruneSchedule;
using nn::Sequential;

// The pruned count PyTorch's _compute_nparams_toprune gives: Python's round(amount · n), which
// rounds half to even, as nearbyint in the default rounding mode.
uint64_t expected_count(double amount, uint64_t n) {
  REQUIRE(std::fegetround() == FE_TONEAREST);
  return static_cast<uint64_t>(std::nearbyint(amount * double(n)));
}

// Uniform weights in [-1, 1] rounded to multiples of 1/4, so many magnitudes tie (±w, 0).
std::vector<float> tied_weights(std::size_t n, uint64_t seed) {
  auto w = uniform(n, -1.0f, 1.0f, seed);
  for (float& v : w) v = std::round(v * 4.0f) / 4.0f;
  return w;
}

// The order magnitude pruning removes weights in, by a full stable sort of (layer, index) by |w|
// (NaN last): ties keep (layer, index) order.
std::vector<std::pair<std::size_t, std::size_t>> magnitude_order(const std::vector<std::vector<float>>& layers) {
  std::vector<std::pair<std::size_t, std::size_t>> order;
  for (std::size_t l = 0; l < layers.size(); ++l) {
    for (std::size_t i = 0; i < layers[l].size(); ++i) order.emplace_back(l, i);
  }
  const auto key = [&](const std::pair<std::size_t, std::size_t>& p) {
    const float w = layers[p.first][p.second];
    return std::make_pair(std::isnan(w) ? 1 : 0, std::isnan(w) ? 0.0f : std::fabs(w));
  };
  std::stable_sort(order.begin(), order.end(), [&](const auto& a, const auto& b) { return key(a) < key(b); });
  return order;
}

std::size_t zeros(const std::vector<float>& mask) {
  return static_cast<std::size_t>(std::count(mask.begin(), mask.end(), 0.0f));
}

// Every weight pruned by `mask` is +0 and every other one is unchanged (NaN stays NaN).
void require_weights_masked(const std::vector<float>& before, const std::vector<float>& after,
                            const std::vector<float>& mask) {
  REQUIRE(after.size() == before.size());
  for (std::size_t i = 0; i < before.size(); ++i) {
    if (mask[i] == 0.0f) {
      REQUIRE((after[i] == 0.0f && !std::signbit(after[i])));
    } else if (std::isnan(before[i])) {
      REQUIRE(std::isnan(after[i]));
    } else {
      REQUIRE(after[i] == before[i]);
    }
  }
}

// Pruned in `earlier` implies pruned in `later`.
bool pruned_subset(const std::vector<float>& earlier, const std::vector<float>& later) {
  for (std::size_t i = 0; i < earlier.size(); ++i) {
    if (earlier[i] == 0.0f && later[i] != 0.0f) return false;
  }
  return true;
}

// A model Linear(13→31) → ReLU → Dropout → Linear(31→17) → Sigmoid → Linear(17→5).
void build_chain(Sequential& model) {
  model.emplace<Linear>(13, 31);
  model.emplace<nn::Activation>(Activation::relu);
  model.emplace<nn::Dropout>(0.3f);
  model.emplace<Linear>(31, 17);
  model.emplace<nn::Activation>(Activation::sigmoid);
  model.emplace<Linear>(17, 5);
  CommandList init(model.context());
  model.reset_parameters(init, 11);
  init.run();
}

// For each output of the last Linear of `model` (weights and biases downloaded, layers as
// build_chain's), Σ_k |W[r, k] · a_k| + |b_r| in double over `rows` rows of x: the magnitude of the
// terms the product sums, for run_differences.
std::vector<double> last_layer_scale(Sequential& model, const std::vector<float>& x, std::size_t rows) {
  std::vector<double> a(x.begin(), x.end());
  std::size_t width = x.size() / rows;
  std::vector<double> scale;
  for (std::size_t i = 0; i < model.size(); ++i) {
    auto* linear = dynamic_cast<Linear*>(&model[i]);
    if (!linear) {
      if (model[i].type_name() == "ReLU") {
        for (double& v : a) v = std::max(v, 0.0);
      } else if (model[i].type_name() == "Sigmoid") {
        for (double& v : a) v = 1.0 / (1.0 + std::exp(-v));
      }
      continue;
    }
    const auto w = linear->weight().to_vector<float>();
    const auto b = linear->bias().empty() ? std::vector<float>() : linear->bias().to_vector<float>();
    const std::size_t out = linear->weight().shape()[0];
    std::vector<double> y(rows * out);
    scale.assign(rows * out, 0.0);
    for (std::size_t r = 0; r < rows; ++r) {
      for (std::size_t j = 0; j < out; ++j) {
        double s = b.empty() ? 0.0 : b[j];
        double m = b.empty() ? 0.0 : std::fabs(b[j]);
        for (std::size_t k = 0; k < width; ++k) {
          s += double(w[j * width + k]) * a[r * width + k];
          m += std::fabs(double(w[j * width + k]) * a[r * width + k]);
        }
        y[r * out + j] = s;
        scale[r * out + j] = m;
      }
    }
    a = std::move(y);
    width = out;
  }
  return scale;
}

}  // namespace

TEST_CASE("l1_unstructured prunes exactly round(amount·n) weights of smallest |w|, ties by index", "[nn][prune]") {
  Context& ctx = context();
  const std::vector<std::pair<uint64_t, uint64_t>> shapes{{1, 1}, {7, 13}, {257, 255}};  // (out, in)
  for (const auto& [out, in] : shapes) {
    for (const double amount : {0.0, 0.1, 0.25, 0.5, 0.9, 1.0}) {
      CAPTURE(out, in, amount);
      Linear layer(ctx, in, out);
      auto w = tied_weights(out * in, out * 31 + in);
      if (w.size() > 100) {  // NaN ranks above every magnitude, inf just below it
        w[3] = std::numeric_limits<float>::quiet_NaN();
        w[50] = -std::numeric_limits<float>::infinity();
      }
      layer.weight().upload(w);
      nn::l1_unstructured(layer, amount);
      const auto mask = layer.weight_mask_values();
      const std::size_t k = expected_count(amount, w.size());
      REQUIRE(zeros(mask) == k);
      const auto order = magnitude_order({w});
      for (std::size_t j = 0; j < order.size(); ++j) {
        REQUIRE(mask[order[j].second] == (j < k ? 0.0f : 1.0f));
      }
      require_weights_masked(w, layer.weight().to_vector<float>(), mask);
    }
  }
  // Over a million weights (1031 × 1031), with few distinct magnitudes: the order is still exact.
  {
    Linear big(ctx, 1031, 1031);
    const auto w = tied_weights(1031 * 1031, 8);
    big.weight().upload(w);
    nn::l1_unstructured(big, 0.9);
    const auto mask = big.weight_mask_values();
    const std::size_t k = expected_count(0.9, w.size());
    const auto order = magnitude_order({w});
    std::size_t wrong = 0;
    for (std::size_t j = 0; j < order.size(); ++j) wrong += mask[order[j].second] != (j < k ? 0.0f : 1.0f);
    CHECK(wrong == 0);
    CHECK(zeros(mask) == k);
  }
  // Half-way counts round to even, as Python's round: 0.5 · 91 = 45.5 → 46, 0.5 · 1 → 0.
  Linear odd(ctx, 13, 7);
  nn::l1_unstructured(odd, 0.5);
  CHECK(zeros(odd.weight_mask_values()) == 46);
  Linear one(ctx, 1, 1);
  nn::l1_unstructured(one, 0.5);
  CHECK(zeros(one.weight_mask_values()) == 0);
  require_no_validation_messages();
}

TEST_CASE("global_unstructured puts one threshold over every chosen layer", "[nn][prune]") {
  Context& ctx = context();
  for (const double amount : {0.0, 0.3, 0.77, 1.0}) {
    CAPTURE(amount);
    Sequential model(ctx);
    model.emplace<Linear>(7, 13);
    model.emplace<nn::Activation>(Activation::relu);
    // A nested Residual and Sequential: their Linears are pruned too, named as in the state_dict.
    auto inner = std::make_unique<Sequential>(ctx);
    inner->emplace<Linear>(13, 13);
    model.add(std::make_unique<nn::Residual>(ctx, std::move(inner)));
    model.emplace<Linear>(13, 257);
    model.emplace<Linear>(257, 3);
    const auto layers = nn::prunable_layers(model);
    REQUIRE(layers.size() == 4);
    CHECK(layers[1].name == "2.fn.0.weight");
    CHECK(layers[3].name == "4.weight");
    std::vector<std::vector<float>> w;
    uint64_t n = 0;
    for (std::size_t l = 0; l < layers.size(); ++l) {
      // Different scales per layer, so the threshold prunes layers unevenly.
      w.push_back(tied_weights(layers[l].layer->weight().numel(), 5 + l));
      for (float& v : w.back()) v *= float(l + 1);
      layers[l].layer->weight().upload(w.back());
      n += w.back().size();
    }
    nn::global_unstructured(layers, amount);
    const std::size_t k = expected_count(amount, n);
    const auto order = magnitude_order(w);
    std::vector<std::vector<float>> masks;
    for (const auto& t : layers) masks.push_back(t.layer->weight_mask_values());
    for (std::size_t j = 0; j < order.size(); ++j) {
      REQUIRE(masks[order[j].first][order[j].second] == (j < k ? 0.0f : 1.0f));
    }
    for (std::size_t l = 0; l < layers.size(); ++l) {
      require_weights_masked(w[l], layers[l].layer->weight().to_vector<float>(), masks[l]);
    }
    CHECK(nn::pruned_fraction(layers) == double(k) / double(n));
  }
  // The output layer left dense; a chosen subset by name.
  Sequential model(ctx);
  model.emplace<Linear>(7, 13);
  model.emplace<Linear>(13, 5);
  model.emplace<Linear>(5, 3);
  const auto hidden = nn::prunable_layers(model, {.skip_output_layer = true});
  REQUIRE(hidden.size() == 2);
  nn::global_unstructured(hidden, 0.5);
  CHECK(!dynamic_cast<Linear&>(model[2]).has_weight_mask());
  CHECK(nn::pruned_fraction(hidden) == double(expected_count(0.5, 7 * 13 + 13 * 5)) / double(7 * 13 + 13 * 5));
  const auto named = nn::prunable_layers(model, {.names = {"2.weight", "0.weight"}});
  REQUIRE(named.size() == 2);
  CHECK(named[0].name == "0.weight");
  CHECK(named[1].name == "2.weight");
  require_no_validation_messages();
}

TEST_CASE("random_unstructured prunes an exact count, the same for a seed", "[nn][prune]") {
  Context& ctx = context();
  for (const auto& [out, in] : std::vector<std::pair<uint64_t, uint64_t>>{{1, 1}, {7, 13}, {257, 255}}) {
    for (const double amount : {0.0, 0.4, 1.0}) {
      CAPTURE(out, in, amount);
      Linear a(ctx, in, out), b(ctx, in, out), c(ctx, in, out);
      nn::random_unstructured(a, amount, 42);
      nn::random_unstructured(b, amount, 42);
      nn::random_unstructured(c, amount, 43);
      const auto ma = a.weight_mask_values();
      REQUIRE(zeros(ma) == expected_count(amount, out * in));
      CHECK(ma == b.weight_mask_values());
      if (out * in > 1000 && amount == 0.4) CHECK(ma != c.weight_mask_values());
      // The same seed draws nested sets: a larger amount on a fresh layer prunes a superset.
      Linear more(ctx, in, out);
      nn::random_unstructured(more, std::min(1.0, amount + 0.3), 42);
      CHECK(pruned_subset(ma, more.weight_mask_values()));
    }
  }
  require_no_validation_messages();
}

TEST_CASE("n_m_structured keeps the N largest |w| of every group of M inputs", "[nn][prune]") {
  Context& ctx = context();
  const std::vector<std::pair<uint64_t, uint64_t>> shapes{{1, 1}, {7, 13}, {257, 255}, {3, 8}};
  const std::vector<std::pair<uint32_t, uint32_t>> patterns{{2, 4}, {1, 3}, {3, 3}, {1, 1}};
  for (const auto& [out, in] : shapes) {
    for (const auto& [n, m] : patterns) {
      CAPTURE(out, in, n, m);
      Linear layer(ctx, in, out);
      const auto w = tied_weights(out * in, in + 7 * n + m);
      layer.weight().upload(w);
      nn::n_m_structured(layer, n, m);
      const auto mask = layer.weight_mask_values();
      for (uint64_t r = 0; r < out; ++r) {
        for (uint64_t c0 = 0; c0 < in; c0 += m) {
          const uint64_t g = std::min<uint64_t>(m, in - c0);
          uint64_t kept = 0;
          for (uint64_t c = c0; c < c0 + g; ++c) kept += mask[r * in + c] == 1.0f;
          REQUIRE(kept == std::min<uint64_t>(n, g));
          // Every kept weight ranks above every pruned one: larger |w|, or equal |w| and a higher
          // column.
          for (uint64_t p = c0; p < c0 + g; ++p) {
            for (uint64_t q = c0; q < c0 + g; ++q) {
              if (mask[r * in + p] == 1.0f && mask[r * in + q] == 0.0f) {
                const float wp = std::fabs(w[r * in + p]), wq = std::fabs(w[r * in + q]);
                REQUIRE((wp > wq || (wp == wq && p > q)));
              }
            }
          }
        }
      }
      require_weights_masked(w, layer.weight().to_vector<float>(), mask);
    }
  }
  require_no_validation_messages();
}

TEST_CASE("masks are monotone: a pruned weight stays pruned and counts towards the target", "[nn][prune]") {
  Context& ctx = context();
  Sequential model(ctx);
  model.emplace<Linear>(255, 257);
  model.emplace<Linear>(257, 7);
  auto& layer = dynamic_cast<Linear&>(model[0]);
  const auto layers = nn::prunable_layers(model);
  const uint64_t n = 255 * 257;
  std::vector<float> previous(n, 1.0f);
  // Pruners alternate; the total pruned fraction only grows, and a lower target changes nothing.
  const std::vector<std::function<void()>> steps{
      [&] { nn::n_m_structured(layer); },               // about 50 % of layer 0
      [&] { nn::l1_unstructured(layer, 0.3); },         // below: unchanged
      [&] { nn::l1_unstructured(layer, 0.6); },         // 60 %
      [&] { nn::random_unstructured(layer, 0.7, 9); },  // 70 %
      [&] { nn::global_unstructured(layers, 0.75); },   // 75 % of both layers
      [&] { nn::ln_structured(layer, 0.8); },           // whole rows on top
      [&] { nn::l1_unstructured(layer, 0.0); },         // unchanged
  };
  // Pruned counts where the step fixes them (2:4 on 255 inputs: 63 groups of 4 lose 2, the last 3
  // columns lose 1); 0 where it does not.
  const std::size_t nm = 257 * (63 * 2 + 1);
  const std::vector<std::size_t> expected{nm, nm, expected_count(0.6, n), expected_count(0.7, n), 0, 0, 0};
  for (std::size_t s = 0; s < steps.size(); ++s) {
    CAPTURE(s);
    steps[s]();
    const auto mask = layer.weight_mask_values();
    REQUIRE(pruned_subset(previous, mask));
    if (expected[s] > 0) REQUIRE(zeros(mask) == expected[s]);
    if (s == 1 || s == 6) REQUIRE(mask == previous);
    previous = mask;
  }
  // After row pruning at 0.8, at most 257 − round(0.8 · 257) rows hold a weight.
  const auto mask = layer.weight_mask_values();
  std::size_t live_rows = 0;
  for (std::size_t r = 0; r < 257; ++r) {
    live_rows += std::any_of(mask.begin() + r * 255, mask.begin() + (r + 1) * 255, [](float v) { return v != 0; });
  }
  CHECK(live_rows <= 257 - expected_count(0.8, 257));
  // Without monotone masks, the mask is recomputed from the weights: exactly round(0.1 · n).
  layer.weight().upload(uniform(n, 0.5f, 1.0f, 3));
  nn::l1_unstructured(layer, 0.1, /*monotone=*/false);
  CHECK(zeros(layer.weight_mask_values()) == expected_count(0.1, n));
  require_no_validation_messages();
}

TEST_CASE("ln_structured prunes the rows of smallest L2 norm", "[nn][prune]") {
  Context& ctx = context();
  for (const auto& [out, in] : std::vector<std::pair<uint64_t, uint64_t>>{{1, 1}, {7, 13}, {257, 255}}) {
    for (const double amount : {0.0, 0.3, 0.5, 1.0}) {
      CAPTURE(out, in, amount);
      Linear layer(ctx, in, out);
      auto w = uniform(out * in, -1.0f, 1.0f, out + in);
      if (out > 2) std::copy_n(w.begin(), in, w.begin() + in);                 // rows 0 and 1 tie
      if (out > 100) w[5 * in + 3] = std::numeric_limits<float>::quiet_NaN();  // row 5 ranks last
      layer.weight().upload(w);
      nn::ln_structured(layer, amount);
      // (holds NaN, L2 norm, row), sorted: NaN rows last, then ties by row.
      std::vector<std::tuple<bool, double, uint64_t>> norms;
      for (uint64_t r = 0; r < out; ++r) {
        double s = 0;
        for (uint64_t c = 0; c < in; ++c) s += double(w[r * in + c]) * w[r * in + c];
        norms.emplace_back(std::isnan(s), std::isnan(s) ? 0.0 : std::sqrt(s), r);
      }
      std::sort(norms.begin(), norms.end());
      const auto mask = layer.weight_mask_values();
      const std::size_t k = expected_count(amount, out);
      for (std::size_t j = 0; j < norms.size(); ++j) {
        const uint64_t r = std::get<2>(norms[j]);
        const float want = j < k ? 0.0f : 1.0f;
        REQUIRE(std::all_of(mask.begin() + r * in, mask.begin() + (r + 1) * in, [&](float v) { return v == want; }));
      }
    }
  }
  require_no_validation_messages();
}

TEST_CASE("shrink_pruned_neurons removes pruned neurons and keeps the masked model's outputs", "[nn][prune]") {
  Context& ctx = context();
  const std::size_t rows = 9;
  const auto x = uniform(rows * 13, -2.0f, 2.0f, 77);
  Sequential model(ctx);
  build_chain(model);
  auto& l0 = dynamic_cast<Linear&>(model[0]);
  auto& l3 = dynamic_cast<Linear&>(model[3]);
  nn::ln_structured(l0, 0.4);  // 12 of 31 rows
  nn::ln_structured(l3, 0.3);  // 5 of 17 rows
  nn::l1_unstructured(dynamic_cast<Linear&>(model[5]), 0.5);
  // The fold is exercised: some pruned neuron of layer 0 outputs relu(b) > 0.
  const auto mask0 = l0.weight_mask_values();
  const auto b0 = l0.bias().to_vector<float>();
  bool live_constant = false;
  for (std::size_t r = 0; r < 31; ++r) live_constant = live_constant || (mask0[r * 13] == 0.0f && b0[r] > 0.0f);
  REQUIRE(live_constant);

  const auto masked = model.predict(x, rows);
  const auto scale = last_layer_scale(model, x, rows);
  const auto mask5 = dynamic_cast<Linear&>(model[5]).weight_mask_values();
  CHECK(nn::shrink_pruned_neurons(model) == 12 + 5);
  CHECK(model[0].to_string() == "Linear(in_features=13, out_features=19, bias=True)");
  CHECK(model[3].to_string() == "Linear(in_features=19, out_features=12, bias=True)");
  CHECK(model[5].to_string() == "Linear(in_features=12, out_features=5, bias=True)");
  // The unstructured mask of the last layer keeps its pruned weights in the kept columns.
  CHECK(zeros(dynamic_cast<Linear&>(model[5]).weight_mask_values()) <= zeros(mask5));
  const auto shrunk = model.predict(x, rows);
  // Only the summation changes: the products of the dropped zero weights are gone and the pruned
  // neurons' constant outputs are summed into the next bias in double, so the outputs agree as two
  // GEMMs of the same terms in another order do (run_differences' bound over Σ|terms|).
  CHECK(run_differences(shrunk, masked, Modules::separate, scale) == "");

  // Every neuron of a hidden layer pruned: it keeps row 0 (a Linear has at least one output).
  Sequential dead(ctx);
  dead.emplace<Linear>(13, 6);
  dead.emplace<nn::Activation>(Activation::relu);
  dead.emplace<Linear>(6, 3);
  nn::ln_structured(dynamic_cast<Linear&>(dead[0]), 1.0);
  const auto dead_before = dead.predict(x, rows);
  const auto dead_scale = last_layer_scale(dead, x, rows);
  CHECK(nn::shrink_pruned_neurons(dead) == 5);
  CHECK(dead[0].to_string() == "Linear(in_features=13, out_features=1, bias=True)");
  CHECK(run_differences(dead.predict(x, rows), dead_before, Modules::separate, dead_scale) == "");

  // Without biases, a sigmoid still gives the pruned neurons an output of 0.5: the next Linear
  // gets a bias.
  Sequential no_bias(ctx);
  no_bias.emplace<Linear>(13, 8, false);
  no_bias.emplace<nn::Activation>(Activation::sigmoid);
  no_bias.emplace<Linear>(8, 3, false);
  nn::ln_structured(dynamic_cast<Linear&>(no_bias[0]), 0.5);
  const auto before = no_bias.predict(x, rows);
  const auto scale2 = last_layer_scale(no_bias, x, rows);
  CHECK(nn::shrink_pruned_neurons(no_bias) == 4);
  CHECK(no_bias[2].to_string() == "Linear(in_features=4, out_features=3, bias=True)");
  CHECK(run_differences(no_bias.predict(x, rows), before, Modules::separate, scale2) == "");
  require_no_validation_messages();
}

TEST_CASE("shrink_pruned_neurons refuses layers that do not map each neuron on its own", "[nn][prune]") {
  Context& ctx = context();
  Sequential model(ctx);
  model.emplace<Linear>(6, 8);
  model.emplace<nn::BatchNorm1d>(8);
  model.emplace<nn::Activation>(Activation::relu);
  model.emplace<Linear>(8, 3);
  // Nothing pruned: nothing to remove, nothing refused.
  CHECK(nn::shrink_pruned_neurons(model) == 0);
  nn::ln_structured(dynamic_cast<Linear&>(model[0]), 0.5);
  require_refused([&] { nn::shrink_pruned_neurons(model); }, {"shrink_pruned_neurons", "layer 1", "BatchNorm1d"});
  CHECK(model[0].to_string() == "Linear(in_features=6, out_features=8, bias=True)");
  // The output layer's rows are the model's outputs: they stay.
  Sequential single(ctx);
  single.emplace<Linear>(6, 8);
  nn::ln_structured(dynamic_cast<Linear&>(single[0]), 0.5);
  CHECK(nn::shrink_pruned_neurons(single) == 0);
  require_no_validation_messages();
}

TEST_CASE("pruning schedules follow their formulas", "[nn][prune]") {
  // Zhu & Gupta: s_t = s_f + (s_i − s_f)(1 − (t − t0)/(nΔt))³.
  const double si = 0.1, sf = 0.9;
  const uint64_t t0 = 2, dt = 2, nsteps = 3;
  const auto cubic = PruneSchedule::cubic(sf, t0, t0 + nsteps * dt, dt, si);
  const auto zhu_gupta = [&](double t) { return sf + (si - sf) * std::pow(1.0 - (t - t0) / double(nsteps * dt), 3); };
  for (uint64_t t = 0; t <= 12; ++t) {
    CAPTURE(t);
    const bool point = t >= t0 && t <= t0 + nsteps * dt && (t - t0) % dt == 0;
    CHECK(cubic.is_pruning_point(t) == point);
    double want = si;                                                // before t0
    if (t >= t0) want = zhu_gupta(double(t0 + (t - t0) / dt * dt));  // the last point <= t
    if (t > t0 + nsteps * dt) want = sf;                             // after
    CHECK(std::fabs(cubic.sparsity_at(t) - want) <= 1e-15);
  }
  CHECK(cubic.sparsity_at(t0 + nsteps * dt) == sf);
  // Iterative: equal steps from s_i to s_f over the n + 1 points.
  const auto iterative = PruneSchedule::iterative(0.8, 1, 7, 2);
  for (uint64_t k = 0; k <= 3; ++k) {
    CHECK(iterative.is_pruning_point(1 + 2 * k));
    CHECK(std::fabs(iterative.sparsity_at(1 + 2 * k) - 0.8 * double(k + 1) / 4.0) <= 1e-15);
  }
  CHECK(!iterative.is_pruning_point(0));
  CHECK(!iterative.is_pruning_point(2));
  CHECK(!iterative.is_pruning_point(9));
  CHECK(iterative.sparsity_at(0) == 0.0);
  // One-shot, also made from the sample's flags (end is not used).
  const auto once = PruneSchedule::one_shot(0.5, 3);
  const auto made = PruneSchedule::make(*nn::prune_schedule_from_name("one-shot"), 0.5, 3, 8, 1);
  for (uint64_t t = 0; t <= 9; ++t) {
    CHECK(once.is_pruning_point(t) == (t == 3));
    CHECK(made.is_pruning_point(t) == (t == 3));
    CHECK(once.sparsity_at(t) == (t < 3 ? 0.0 : 0.5));
    CHECK(made.sparsity_at(t) == once.sparsity_at(t));
  }
  const auto named = PruneSchedule::make(*nn::prune_schedule_from_name("cubic"), sf, t0, t0 + nsteps * dt, dt, si);
  for (uint64_t t = 0; t <= 12; ++t) CHECK(named.sparsity_at(t) == cubic.sparsity_at(t));
  CHECK(nn::prune_schedule_from_name("iterative") == PruneSchedule::Kind::iterative);
  CHECK(!nn::prune_schedule_from_name("linear"));
  CHECK(nn::prune_method_from_name("magnitude") == nn::PruneMethod::magnitude);
  CHECK(nn::prune_method_from_name("global") == nn::PruneMethod::global_magnitude);
  CHECK(nn::prune_method_from_name("random") == nn::PruneMethod::random);
  CHECK(nn::prune_method_from_name("n:m") == nn::PruneMethod::n_m);
  CHECK(nn::prune_method_from_name("neurons") == nn::PruneMethod::neurons);
  CHECK(!nn::prune_method_from_name("l1"));
}

TEST_CASE("Pruner prunes at the schedule's points to the schedule's sparsity", "[nn][prune]") {
  Context& ctx = context();
  Sequential model(ctx);
  model.emplace<Linear>(13, 31);
  model.emplace<nn::Activation>(Activation::relu);
  model.emplace<Linear>(31, 7);
  const auto schedule = PruneSchedule::cubic(0.9, 2, 8, 2);
  nn::Pruner pruner(model, {.method = nn::PruneMethod::global_magnitude, .schedule = schedule});
  const uint64_t n = 13 * 31 + 31 * 7;
  std::vector<std::vector<float>> previous;
  for (uint64_t t = 0; t <= 10; ++t) {
    CAPTURE(t);
    REQUIRE(pruner.step(t) == schedule.is_pruning_point(t));
    const double want = t < 2 ? 0.0 : double(expected_count(schedule.sparsity_at(t), n)) / double(n);
    REQUIRE(pruner.sparsity() == want);
    std::vector<std::vector<float>> masks;
    for (const auto& layer : pruner.layers()) masks.push_back(layer.layer->weight_mask_values());
    for (std::size_t l = 0; l < previous.size(); ++l) REQUIRE(pruned_subset(previous[l], masks[l]));
    previous = masks;
  }
  // Each method through the Pruner: per-layer sparsity, rows, the 2:4 pattern, seeded random.
  const auto once = PruneSchedule::one_shot(0.5, 0);
  for (const auto method :
       {nn::PruneMethod::magnitude, nn::PruneMethod::random, nn::PruneMethod::neurons, nn::PruneMethod::n_m}) {
    CAPTURE(static_cast<int>(method));
    Sequential m(ctx);
    m.emplace<Linear>(13, 31);
    m.emplace<Linear>(31, 7);
    nn::Pruner p(m, {.method = method, .schedule = once, .layers = {.skip_output_layer = true}, .seed = 5});
    REQUIRE(p.layers().size() == 1);
    REQUIRE(p.step(0));
    auto& l0 = dynamic_cast<Linear&>(m[0]);
    const auto mask = l0.weight_mask_values();
    if (method == nn::PruneMethod::neurons) {
      CHECK(zeros(mask) == expected_count(0.5, 31) * 13);
    } else if (method == nn::PruneMethod::n_m) {
      CHECK(zeros(mask) == 31 * (13 / 4 * 2));  // 3 groups of 4 lose 2 each; the last column stays
    } else {
      CHECK(zeros(mask) == expected_count(0.5, 13 * 31));
    }
    CHECK(!dynamic_cast<Linear&>(m[1]).has_weight_mask());
    if (method == nn::PruneMethod::random) {
      Sequential again(ctx);
      again.emplace<Linear>(13, 31);
      again.emplace<Linear>(31, 7);
      nn::Pruner q(again, {.method = method, .schedule = once, .layers = {.skip_output_layer = true}, .seed = 5});
      q.step(0);
      CHECK(dynamic_cast<Linear&>(again[0]).weight_mask_values() == mask);
    }
  }
  require_no_validation_messages();
}

TEST_CASE("pruning misuse is refused with InvalidArgument", "[nn][prune]") {
  Context& ctx = context();
  const auto& refused = require_refused;
  Linear layer(ctx, 5, 4);
  for (const double bad : {-0.1, 1.5, std::numeric_limits<double>::quiet_NaN()}) {
    refused([&] { nn::l1_unstructured(layer, bad); }, {"l1_unstructured", "[0, 1]"});
    refused([&] { nn::global_unstructured({{"0.weight", &layer}}, bad); }, {"global_unstructured", "[0, 1]"});
    refused([&] { nn::random_unstructured(layer, bad, 1); }, {"random_unstructured", "[0, 1]"});
    refused([&] { nn::ln_structured(layer, bad); }, {"ln_structured", "[0, 1]"});
    refused([&] { PruneSchedule::cubic(bad, 0, 4); }, {"PruneSchedule", "[0, 1]"});
  }
  refused([&] { nn::n_m_structured(layer, 3, 2); }, {"n_m_structured", "N = 3, M = 2"});
  refused([&] { nn::n_m_structured(layer, 0, 0); }, {"n_m_structured", "M = 0"});
  refused([&] { nn::global_unstructured({}, 0.5); }, {"global_unstructured", "no layer"});
  refused([&] { PruneSchedule::cubic(0.5, 4, 2); }, {"PruneSchedule", "before start"});
  refused([&] { PruneSchedule::cubic(0.5, 0, 5, 2); }, {"PruneSchedule", "multiple of frequency"});
  refused([&] { PruneSchedule::iterative(0.5, 0, 4, 0); }, {"PruneSchedule", "frequency must be >= 1"});
  refused([&] { PruneSchedule::cubic(0.5, 0, 4, 1, 0.7); }, {"PruneSchedule", "initial sparsity"});
  PruneSchedule spread = PruneSchedule::one_shot(0.5, 1);
  spread.end = 3;
  refused([&] { spread.validate(); }, {"PruneSchedule", "one-shot"});
  CHECK(layer.has_weight_mask() == false);  // nothing was applied

  Sequential no_linear(ctx);
  no_linear.emplace<nn::Activation>(Activation::relu);
  refused([&] { (void)nn::Pruner(no_linear, {}); }, {"no Linear layer"});
  refused([&] { nn::shrink_pruned_neurons(no_linear); }, {"shrink_pruned_neurons", "no top-level Linear"});
  Sequential one(ctx);
  one.emplace<Linear>(3, 2);
  refused([&] { nn::prunable_layers(one, {.skip_output_layer = true}); }, {"no layer left", "output layer"});
  refused([&] { nn::prunable_layers(one, {.names = {"1.weight"}}); }, {"'1.weight'", "0.weight"});
  refused([&] { (void)nn::Pruner(one, {.method = nn::PruneMethod::n_m, .n = 5, .m = 4}); }, {"Pruner", "N = 5, M = 4"});
  refused([&] { (void)nn::Pruner(one, {.schedule = {.final_sparsity = 2}}); }, {"PruneSchedule", "[0, 1]"});
  require_no_validation_messages();
}

}  // namespace vkgrad::test::pruning
