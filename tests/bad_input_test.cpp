// Bad inputs through the public API. One table lists every op with valid arguments; for each op and
// each tensor argument the test substitutes, in turn, a tensor from a second Context, an empty
// tensor, the wrong dtype and the wrong shape, and requires that the call throws InvalidArgument,
// records nothing (dispatch_count unchanged) and, once the list runs, leaves every tensor as it was.
// The valid call itself must then succeed, so a refusal is known to come from the one bad argument.
//
// Zero-size tensors: PyTorch allows them (most ops are then no-ops); vkgrad has none — a Shape
// with a zero dimension is refused when it is built — so no op ever receives one. Sizes given as
// numbers (rows of a loss, features of a layer, ...) are refused at 0 in the same way.
//
// Out-of-range labels: on the device they cannot throw (the losses report them through a status
// tensor after the run, tests/loss_test.cpp; gather_labels and one_hot mark them with -1 / NaN,
// tests/data_test.cpp). The Trainer checks a dataset's labels on the host before any step, so a bad
// label cannot reach the parameters as a NaN gradient.
#include <catch2/catch.hpp>

#include <functional>
#include <optional>

#include "harness.hpp"

namespace vkgrad::test {
namespace {

struct Arg {
  Shape shape;
  DType dtype = DType::f32;
  /// The shape used for the wrong-shape variant; unset: the first dimension + 1. Set `any_shape`
  /// where the op accepts any shape for this argument.
  std::optional<Shape> bad_shape = {};
  bool any_shape = false;
  bool optional = false;   ///< an empty tensor is valid here (no bias, skipped gradient)
  bool any_dtype = false;  ///< every dtype is valid here
};

using Tensors = std::vector<Tensor>;

struct OpCase {
  std::string name;
  std::vector<Arg> args;
  std::function<void(CommandList&, Tensors&)> call;
};

Shape grown(const Shape& s) {
  std::vector<uint64_t> d(s.dims().begin(), s.dims().end());
  ++d[0];
  return Shape(std::span<const uint64_t>(d));
}

DType other_dtype(DType t) { return t == DType::f32 ? DType::i32 : DType::f32; }

// Every tensor starts as a distinct, valid pattern (labels and indices 0, floats 0.25).
void fill_valid(Tensor& t) { t.fill(t.dtype() == DType::f32 ? 0.25f : 0.0f); }

std::vector<uint8_t> contents(const Tensor& t) {
  std::vector<uint8_t> bytes(t.size_bytes());
  switch (t.dtype()) {
    case DType::f32: t.download(std::span<float>(reinterpret_cast<float*>(bytes.data()), t.numel())); break;
    case DType::i32: t.download(std::span<int32_t>(reinterpret_cast<int32_t*>(bytes.data()), t.numel())); break;
    case DType::u8: t.download(std::span<uint8_t>(bytes)); break;
    case DType::f16: t.download(std::span<half>(reinterpret_cast<half*>(bytes.data()), t.numel())); break;
  }
  return bytes;
}

std::vector<OpCase> op_cases(Context& ctx) {
  using A = Arg;
  const Shape nc{4, 5};
  std::vector<OpCase> c;
  // Elementwise and activations.
  c.push_back({"activation_forward", {A{nc}, A{nc}}, [](CommandList& l, Tensors& t) {
                 activation_forward(l, Activation::relu, t[0], t[1]);
               }});
  c.push_back({"activation_backward", {A{nc}, A{nc}, A{nc}}, [](CommandList& l, Tensors& t) {
                 activation_backward(l, Activation::tanh, t[0], t[1], t[2]);
               }});
  c.push_back({"prelu_forward", {A{nc}, A{{5}}, A{nc}}, [](CommandList& l, Tensors& t) {
                 prelu_forward(l, t[0], t[1], t[2]);
               }});
  c.push_back({"prelu_backward", {A{nc}, A{{5}}, A{nc}, A{nc}, A{{5}}}, [](CommandList& l, Tensors& t) {
                 prelu_backward(l, t[0], t[1], t[2], t[3], t[4]);
               }});
  c.push_back({"dropout_forward", {A{nc}, A{nc}}, [](CommandList& l, Tensors& t) {
                 dropout_forward(l, t[0], t[1], DropoutOptions{});
               }});
  c.push_back({"dropout_backward", {A{nc}, A{nc}}, [](CommandList& l, Tensors& t) {
                 dropout_backward(l, t[0], t[1], DropoutOptions{});
               }});
  c.push_back({"l1_penalty_accumulate", {A{nc}, A{nc}}, [](CommandList& l, Tensors& t) {
                 l1_penalty_accumulate(l, t[0], t[1], 0.1f);
               }});
  c.push_back({"l2_penalty_accumulate", {A{nc}, A{nc}}, [](CommandList& l, Tensors& t) {
                 l2_penalty_accumulate(l, t[0], t[1], 0.1f);
               }});
  c.push_back({"l1_activity_penalty_accumulate", {A{nc}, A{nc}}, [](CommandList& l, Tensors& t) {
                 l1_activity_penalty_accumulate(l, t[0], t[1], 0.1f);
               }});
  c.push_back({"mask_apply", {A{nc}, A{nc}, A{nc}, A{nc}}, [](CommandList& l, Tensors& t) {
                 mask_apply(l, t[0], {&t[1], &t[2], &t[3]});
               }});
  // Normalisation.
  const A ch{{5}};
  c.push_back({"batchnorm_forward", {A{nc}, ch, ch, ch, ch, ch, ch, A{nc}}, [](CommandList& l, Tensors& t) {
                 batchnorm_forward(l, t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]);
               }});
  c.push_back({"batchnorm_backward", {A{nc}, A{nc}, ch, ch, ch, A{nc}, ch, ch}, [](CommandList& l, Tensors& t) {
                 batchnorm_backward(l, t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]);
               }});
  // Initialisers (any shape of rank >= 2 for the fan-based ones).
  c.push_back({"init_constant", {A{nc, DType::f32, {}, true}}, [](CommandList& l, Tensors& t) {
                 init_constant(l, t[0], 1.0f);
               }});
  c.push_back({"init_uniform", {A{nc, DType::f32, {}, true}}, [](CommandList& l, Tensors& t) {
                 init_uniform(l, t[0], -1.0f, 1.0f, 3);
               }});
  c.push_back({"init_normal", {A{nc, DType::f32, {}, true}}, [](CommandList& l, Tensors& t) {
                 init_normal(l, t[0], 0.0f, 1.0f, 3);
               }});
  c.push_back({"init_xavier_uniform", {A{nc, DType::f32, Shape{20}}}, [](CommandList& l, Tensors& t) {
                 init_xavier_uniform(l, t[0], 3);
               }});
  c.push_back({"init_kaiming_normal", {A{nc, DType::f32, Shape{20}}}, [](CommandList& l, Tensors& t) {
                 init_kaiming_normal(l, t[0], 3);
               }});
  // Matrix products.
  c.push_back({"gemm", {A{{4, 3}}, A{{3, 5}}, A{nc}}, [](CommandList& l, Tensors& t) { gemm(l, t[0], t[1], t[2]); }});
  c.push_back({"linear_forward",
               {A{{4, 3}}, A{{5, 3}}, A{{5}, DType::f32, {}, false, true}, A{nc}},
               [](CommandList& l, Tensors& t) { linear_forward(l, t[0], t[1], t[2], t[3]); }});
  c.push_back({"linear_backward",
               {A{{4, 3}}, A{{5, 3}}, A{nc}, A{{4, 3}, DType::f32, {}, false, true}, A{{5, 3}},
                A{{5}, DType::f32, {}, false, true}},
               [](CommandList& l, Tensors& t) { linear_backward(l, t[0], t[1], t[2], t[3], t[4], t[5]); }});
  // Reductions.
  c.push_back({"softmax_forward", {A{nc}, A{nc}}, [](CommandList& l, Tensors& t) { softmax_forward(l, t[0], t[1]); }});
  c.push_back({"softmax_backward", {A{nc}, A{nc}, A{nc}}, [](CommandList& l, Tensors& t) {
                 softmax_backward(l, t[0], t[1], t[2]);
               }});
  c.push_back(
      {"log_softmax_forward", {A{nc}, A{nc}}, [](CommandList& l, Tensors& t) { log_softmax_forward(l, t[0], t[1]); }});
  c.push_back({"log_softmax_backward", {A{nc}, A{nc}, A{nc}}, [](CommandList& l, Tensors& t) {
                 log_softmax_backward(l, t[0], t[1], t[2]);
               }});
  c.push_back(
      {"reduce_rows", {A{nc}, A{{4}}}, [](CommandList& l, Tensors& t) { reduce_rows(l, ReduceOp::sum, t[0], t[1]); }});
  c.push_back({"reduce_columns", {A{nc, DType::f32, Shape{4, 6}}, A{{5}}}, [](CommandList& l, Tensors& t) {
                 reduce_columns(l, ReduceOp::max, t[0], t[1]);
               }});
  auto workspace = std::make_shared<ReduceWorkspace>(ctx);
  c.push_back({"reduce_all", {A{nc, DType::f32, {}, true}, A{{1}}}, [workspace](CommandList& l, Tensors& t) {
                 reduce_all(l, ReduceOp::mean, t[0], t[1], *workspace);
               }});
  c.push_back({"squared_l2_norm", {A{nc, DType::f32, {}, true}, A{{1}}}, [workspace](CommandList& l, Tensors& t) {
                 squared_l2_norm(l, t[0], t[1], *workspace);
               }});
  c.push_back(
      {"argmax_rows", {A{nc}, A{{4}, DType::i32}}, [](CommandList& l, Tensors& t) { argmax_rows(l, t[0], t[1]); }});
  // Losses and metrics (labels 0: valid).
  auto ce = std::make_shared<CrossEntropyLoss>(ctx, 4);
  c.push_back({"CrossEntropyLoss::forward", {A{nc}, A{{4}, DType::i32}, A{{1}}}, [ce](CommandList& l, Tensors& t) {
                 ce->forward(l, t[0], t[1], t[2]);
               }});
  c.push_back({"CrossEntropyLoss::backward", {A{nc}, A{{4}, DType::i32}, A{nc}}, [ce](CommandList& l, Tensors& t) {
                 ce->backward(l, t[0], t[1], t[2]);
               }});
  auto nll = std::make_shared<NllLoss>(ctx, 4);
  c.push_back({"NllLoss::forward", {A{nc}, A{{4}, DType::i32}, A{{1}}}, [nll](CommandList& l, Tensors& t) {
                 nll->forward(l, t[0], t[1], t[2]);
               }});
  c.push_back({"NllLoss::backward", {A{nc}, A{{4}, DType::i32}, A{nc}}, [nll](CommandList& l, Tensors& t) {
                 nll->backward(l, t[0], t[1], t[2]);
               }});
  auto mse = std::make_shared<PointwiseLoss>(ctx, PointwiseLossKind::mse, 20);
  c.push_back({"PointwiseLoss::forward", {A{nc}, A{nc}, A{{1}}}, [mse](CommandList& l, Tensors& t) {
                 mse->forward(l, t[0], t[1], t[2]);
               }});
  c.push_back({"PointwiseLoss::backward", {A{nc}, A{nc}, A{nc}}, [mse](CommandList& l, Tensors& t) {
                 mse->backward(l, t[0], t[1], t[2]);
               }});
  c.push_back({"accumulate_metrics",
               {A{{1}}, A{{4}, DType::i32}, A{{4}, DType::i32}, A{{4}}},
               [](CommandList& l, Tensors& t) { accumulate_metrics(l, t[0], t[1], t[2], t[3]); }});
  // Optimizers (the state lives on the first context, made from a valid parameter).
  c.push_back({"optimizer_advance_step", {A{{1}, DType::i32}}, [](CommandList& l, Tensors& t) {
                 optimizer_advance_step(l, t[0]);
               }});
  Tensor param_like(ctx, nc);
  auto sgd_state = std::make_shared<SgdState>(ctx, param_like);
  auto adam_state = std::make_shared<AdamState>(ctx, param_like);
  c.push_back({"sgd_update", {A{nc}, A{nc}, A{{1}, DType::i32}}, [sgd_state](CommandList& l, Tensors& t) {
                 sgd_update(l, SgdOptions{.lr = 0.1f, .momentum = 0.9f}, t[0], t[1], *sgd_state, t[2]);
               }});
  c.push_back({"adam_update", {A{nc}, A{nc}, A{{1}, DType::i32}}, [adam_state](CommandList& l, Tensors& t) {
                 adam_update(l, AdamOptions{}, t[0], t[1], *adam_state, t[2]);
               }});
  uint64_t workspace_elements = 0;
  {
    CommandList probe(ctx);
    Tensor g1(ctx, nc), g2(ctx, {7});
    Tensor* grads[] = {&g1, &g2};
    workspace_elements = clip_grad_norm_workspace_size(probe, grads);
  }
  c.push_back({"clip_grad_norm",
               {A{nc, DType::f32, {}, true}, A{{7}, DType::f32, {}, true}, A{{1}},
                A{{workspace_elements}, DType::f32, Shape{1}}},
               [](CommandList& l, Tensors& t) {
                 Tensor* grads[] = {&t[0], &t[1]};
                 clip_grad_norm(l, grads, 1.0f, t[2], t[3]);
               }});
  // Batch assembly.
  c.push_back({"gather_rows",
               {A{{10, 5}, DType::f32, Shape{10, 6}}, A{{4}, DType::i32}, A{nc}},
               [](CommandList& l, Tensors& t) { gather_rows(l, t[0], t[1], t[2]); }});
  c.push_back({"gather_labels",
               {A{{10}, DType::i32, {}, true}, A{{4}, DType::i32}, A{{4}, DType::i32}},
               [](CommandList& l, Tensors& t) { gather_labels(l, t[0], t[1], t[2]); }});
  c.push_back({"select_batch",
               {A{{10}, DType::i32, {}, true}, A{{1}, DType::i32}, A{{4}, DType::i32, {}, true}},
               [](CommandList& l, Tensors& t) { select_batch(l, t[0], t[1], 4, t[2]); }});
  c.push_back({"one_hot", {A{{4}, DType::i32}, A{{4, 3}}}, [](CommandList& l, Tensors& t) { one_hot(l, t[0], t[1]); }});
  auto sparsity = std::make_shared<ActivationSparsity>(ctx, 4, 5);
  c.push_back({"ActivationSparsity::record", {A{nc}}, [sparsity](CommandList& l, Tensors& t) {
                 sparsity->record(l, t[0], 1e-3f);
               }});
  // Command-list transfers.
  c.push_back({"CommandList::fill", {A{nc, DType::f32, {}, true, false, true}}, [](CommandList& l, Tensors& t) {
                 l.fill(t[0], 1.0f);
               }});
  c.push_back({"CommandList::copy", {A{nc}, A{nc}}, [](CommandList& l, Tensors& t) { l.copy(t[0], t[1]); }});
  // A model of two layers: its output is only reached after the first layer was recorded.
  auto model = std::make_shared<nn::Sequential>(ctx);
  model->emplace<nn::Linear>(3, 5);
  model->emplace<nn::Activation>(Activation::relu);
  c.push_back({"nn::Sequential::forward",
               {A{{4, 3}, DType::f32, Shape{4, 4}}, A{nc}},
               [model](CommandList& l, Tensors& t) { model->forward(l, t[0], t[1]); }});
  c.push_back({"nn::Sequential::backward",
               {A{{4, 3}, DType::f32, Shape{4, 4}}, A{nc}, A{nc}, A{{4, 3}, DType::f32, {}, false, true}},
               [model](CommandList& l, Tensors& t) { model->backward(l, t[0], t[1], t[2], t[3]); }});
  return c;
}

}  // namespace

TEST_CASE("every op refuses a foreign, empty, mistyped or misshapen tensor and records nothing", "[bad-input]") {
  Context& ctx = context();
  Context other(ContextOptions{}.set_pipeline_cache(false));
  for (auto& op : op_cases(ctx)) {
    CAPTURE(op.name);
    Tensors args;
    for (const auto& a : op.args) {
      args.emplace_back(ctx, a.shape, a.dtype);
      fill_valid(args.back());
    }
    std::vector<std::vector<uint8_t>> before;
    for (const auto& t : args) before.push_back(contents(t));

    CommandList cmd(ctx);
    for (std::size_t i = 0; i < args.size(); ++i) {
      const Arg& a = op.args[i];
      CAPTURE(i);
      const auto refused = [&](Tensor bad, const char* variant, const char* needle) {
        CAPTURE(variant);
        std::swap(args[i], bad);
        const std::size_t dispatches = cmd.dispatch_count();
        try {
          op.call(cmd, args);
          FAIL_CHECK("accepted");
        } catch (const InvalidArgument& e) {
          CAPTURE(e.what());
          CHECK_THAT(e.what(), Catch::Contains(needle, Catch::CaseSensitive::No));
        }
        CHECK(cmd.dispatch_count() == dispatches);
        std::swap(args[i], bad);
      };
      // (The substitutes are not filled: a refused call never reads them.)
      refused(Tensor(other, a.shape, a.dtype), "tensor from another context", "another Context");
      if (!a.optional) refused(Tensor(), "empty tensor", "empty");
      if (!a.any_dtype) refused(Tensor(ctx, a.shape, other_dtype(a.dtype)), "wrong dtype", "");
      if (!a.any_shape) refused(Tensor(ctx, a.bad_shape.value_or(grown(a.shape)), a.dtype), "wrong shape", "");
    }
    cmd.run();  // whatever was recorded (nothing should have been) runs
    for (std::size_t i = 0; i < args.size(); ++i) {
      CAPTURE(i);
      CHECK(contents(args[i]) == before[i]);
    }
    // The valid call goes through, so each refusal above was the bad argument's doing.
    CommandList good(ctx);
    CHECK_NOTHROW(op.call(good, args));
    CHECK(good.dispatch_count() > 0);
    good.run();
  }
  require_no_validation_messages();
  CHECK(other.validation_messages().empty());
}

TEST_CASE("every use of a moved-from CommandList throws, naming the list it was moved into", "[bad-input]") {
  Context& ctx = context();
  Tensor a(ctx, {4, 5}), b(ctx, {4, 5});
  a.fill(0.25f);
  b.fill(0.5f);
  CommandList moved(ctx, CommandListOptions{}.set_timestamps(ctx.device().timestamps));
  moved.copy(a, b);
  CommandList into(std::move(moved));
  const auto refused = [](const std::function<void()>& use) {
    require_refused(use, {"CommandList was moved from", "moved into"});
  };
  refused([&] { moved.submit(); });
  refused([&] { moved.wait(); });
  refused([&] { moved.run(); });
  refused([&] { (void)moved.recording(); });
  refused([&] { (void)moved.pending(); });
  refused([&] { moved.reset(); });
  refused([&] { moved.fill(a, 1.0f); });
  refused([&] { moved.copy(a, b); });
  refused([&] { (void)moved.dispatch_count(); });
  refused([&] { (void)moved.barrier_count(); });
  refused([&] { (void)moved.timings(); });
  refused([&] { (void)moved.impl(); });
  // Every op, with valid arguments, through the moved-from list.
  for (auto& op : op_cases(ctx)) {
    CAPTURE(op.name);
    Tensors args;
    for (const auto& arg : op.args) {
      args.emplace_back(ctx, arg.shape, arg.dtype);
      fill_valid(args.back());
    }
    refused([&] { op.call(moved, args); });
  }
  // The list it was moved into holds the recorded copy; the moved-from one can be assigned to.
  CHECK(into.dispatch_count() == 1);
  into.run();
  CHECK(b.to_vector() == std::vector<float>(20, 0.25f));
  moved = CommandList(ctx);
  moved.fill(b, 2.0f);
  moved.run();
  CHECK(b.to_vector() == std::vector<float>(20, 2.0f));
  // A moved-into list that is assigned away becomes moved-from in turn.
  CommandList last = std::move(into);
  refused([&] { into.submit(); });
  require_no_validation_messages();
}

TEST_CASE("every use of a moved-from Context throws, naming the context it was moved into", "[bad-input]") {
  Context moved(ContextOptions{}.set_pipeline_cache(false));
  Context into(std::move(moved));
  const auto refused = [](const std::function<void()>& use) {
    require_refused(use, {"Context was moved from", "moved into"});
  };
  refused([&] { (void)moved.device(); });
  refused([&] { (void)moved.validation_enabled(); });
  refused([&] { (void)moved.validation_messages(); });
  refused([&] { (void)moved.validation_message_count(); });
  refused([&] { moved.clear_validation_messages(); });
  refused([&] { (void)moved.pipeline_cache_path(); });
  refused([&] { (void)moved.kernels(); });
  refused([&] { (void)moved.subgroup_reductions(); });
  refused([&] { (void)moved.texel_loads(); });
  refused([&] { (void)moved.allocated_bytes(); });
  refused([&] { (void)moved.reserved_bytes(); });
  refused([&] { (void)moved.memory_limit(); });
  refused([&] { moved.wait_idle(); });
  refused([&] { (void)moved.lost(); });
  refused([&] { (void)moved.impl(); });
  refused([&] { (void)moved.shared_impl(); });
  // What is created on a context.
  refused([&] { Tensor t(moved, {4}); });
  refused([&] { (void)Tensor::from(moved, {2}, {1.0f, 2.0f}); });
  refused([&] { CommandList cmd(moved); });
  refused([&] { nn::Sequential model(moved); });
  refused([&] { nn::Linear layer(moved, 3, 4); });
  refused([&] { nn::BatchNorm1d layer(moved, 3); });
  refused([&] { CrossEntropyLoss loss(moved, 4); });
  refused([&] { ReduceWorkspace workspace(moved); });
  // The context it was moved into works; the moved-from one can be assigned to.
  Tensor t = Tensor::from(into, {2}, {1.0f, 2.0f});
  CHECK(t.to_vector() == std::vector<float>{1.0f, 2.0f});
  moved = Context(ContextOptions{}.set_pipeline_cache(false));
  CHECK(Tensor::from(moved, {1}, {3.0f}).to_vector() == std::vector<float>{3.0f});
  CHECK(into.validation_messages().empty());
  CHECK(moved.validation_messages().empty());
}

TEST_CASE("moved-from tensors, losses, optimizers and workspaces are refused by the ops that use them", "[bad-input]") {
  Context& ctx = context();
  const auto refused = [](const char* type, const std::function<void()>& use) {
    require_refused(use, {type, "moved from"});
  };
  Tensor x(ctx, {4, 5}), y(ctx, {4, 5}), loss_value(ctx, {1});
  x.fill(0.25f);
  Tensor labels(ctx, {4}, DType::i32);
  labels.fill(0.0f);
  CommandList cmd(ctx);
  {
    Tensor moved(ctx, {4, 5});
    Tensor into(std::move(moved));
    refused("tensor 'x'", [&] { activation_forward(cmd, Activation::relu, moved, y); });
    refused("tensor 'y'", [&] { activation_forward(cmd, Activation::relu, x, moved); });
    refused("fill", [&] { moved.fill(1.0f); });
    refused("upload", [&] { moved.upload(std::vector<float>(20)); });
    refused("download", [&] { (void)moved.to_vector(); });
  }
  const auto class_loss = [&](auto loss, const char* type) {
    auto into(std::move(loss));
    refused(type, [&] { loss.forward(cmd, x, labels, loss_value); });
    refused(type, [&] { loss.backward(cmd, x, labels, y); });
  };
  class_loss(CrossEntropyLoss(ctx, 4), "CrossEntropyLoss");
  class_loss(NllLoss(ctx, 4), "NllLoss");
  {
    PointwiseLoss moved(ctx, PointwiseLossKind::mse, 20);
    PointwiseLoss into(std::move(moved));
    refused("PointwiseLoss", [&] { moved.forward(cmd, x, y, loss_value); });
  }
  {
    ReduceWorkspace moved(ctx);
    ReduceWorkspace into(std::move(moved));
    refused("tensor 'workspace'", [&] { reduce_all(cmd, ReduceOp::sum, x, loss_value, moved); });
  }
  {
    ActivationSparsity moved(ctx, 4, 5);
    ActivationSparsity into(std::move(moved));
    refused("ActivationSparsity", [&] { moved.record(cmd, x, 1e-3f); });
    refused("ActivationSparsity", [&] { (void)moved.read(); });
  }
  nn::Sequential model(ctx);
  model.emplace<nn::Linear>(5, 3);
  {
    std::vector<ParamRef> params;
    for (const auto& p : model.parameters()) params.push_back({p.value, p.grad});
    Sgd moved_sgd(ctx, params);
    Sgd sgd_into(std::move(moved_sgd));
    refused("Sgd", [&] { moved_sgd.record_step(cmd); });
    Adam moved_adam(ctx, params);
    Adam adam_into(std::move(moved_adam));
    refused("Adam", [&] { moved_adam.record_step(cmd); });
  }
  for (const bool adam : {false, true}) {
    CAPTURE(adam);
    std::unique_ptr<nn::Optimizer> into;
    std::unique_ptr<nn::Optimizer> moved;
    if (adam) {
      nn::Adam a(model);
      into = std::make_unique<nn::Adam>(std::move(a));
      moved = std::make_unique<nn::Adam>(std::move(a));
    } else {
      nn::SGD s(model, SgdOptions{.lr = 0.1f});
      into = std::make_unique<nn::SGD>(std::move(s));
      moved = std::make_unique<nn::SGD>(std::move(s));
    }
    refused("optimizer", [&] { moved->record_step(cmd); });
    refused("optimizer", [&] { (void)moved->to_string(); });
    refused("optimizer", [&] { (void)moved->steps(); });
    refused("optimizer", [&] { (void)moved->step_counter(); });
    refused("optimizer", [&] { (void)moved->state_dict(); });
    refused("optimizer", [&] { moved->load_state_dict(into->state_dict()); });
    CHECK(moved->params().empty());
    CHECK(into->params().size() == 2);
    CHECK(into->steps() == 0);
  }
  CHECK(cmd.dispatch_count() == 0);
  cmd.run();
  require_no_validation_messages();
}

TEST_CASE("errors name the op as it is called, whatever activation, mode or variant it records", "[bad-input]") {
  Context& ctx = context();
  Tensor x(ctx, {4, 3}), w(ctx, {5, 3}), y(ctx, {4, 5}), wrong(ctx, {3, 3}), none, ch(ctx, {3});
  Tensor step(ctx, {1}, DType::i32);
  CommandList cmd(ctx);
  const auto prefixed = [](const char* prefix, const std::function<void()>& use) {
    CHECK_THROWS_WITH(use(), Catch::StartsWith(prefix));
  };
  prefixed("vkgrad: linear_forward: ", [&] { linear_forward(cmd, x, wrong, none, y, Activation::gelu); });
  prefixed("vkgrad: linear_forward: ", [&] { linear_forward(cmd, x, wrong, none, y); });
  prefixed("vkgrad: linear_backward: ", [&] { linear_backward(cmd, x, w, wrong, none, w, none, true); });
  prefixed("vkgrad: activation_forward: ", [&] { activation_forward(cmd, Activation::tanh, x, y); });
  prefixed("vkgrad: activation_backward: ", [&] { activation_backward(cmd, Activation::relu, x, y, x); });
  prefixed("vkgrad: batchnorm_forward: ", [&] { batchnorm_forward(cmd, x, ch, ch, ch, ch, ch, ch, y); });
  prefixed("vkgrad: batchnorm_forward: ",
           [&] { batchnorm_forward(cmd, x, ch, ch, ch, ch, ch, ch, y, BatchNormOptions{.training = false}); });
  AdamState state(ctx, x);
  prefixed("vkgrad: adam_update: ", [&] { adam_update(cmd, adamw_options(), x, y, state, step); });
  CHECK(cmd.dispatch_count() == 0);
  // The timing labels still tell the variants apart.
  if (ctx.device().timestamps) {
    CommandList timed(ctx, CommandListOptions{}.set_timestamps(true));
    Tensor b(ctx, {5});
    b.fill(0.0f);
    x.fill(0.5f);
    w.fill(0.25f);
    linear_forward(timed, x, w, b, y, Activation::gelu);
    timed.run();
    CHECK_THAT(timed.timings().at(0).label, Catch::Contains("linear_forward") && Catch::Contains("gelu"));
  }
  require_no_validation_messages();
}

TEST_CASE("zero sizes are refused where they are given, naming the size", "[bad-input]") {
  Context& ctx = context();
  CHECK_THROWS_WITH(Shape({0}), Catch::Contains("zero dimension"));
  CHECK_THROWS_WITH(Shape({3, 0, 2}), Catch::Contains("[3, 0, 2]"));
  CHECK_THROWS_AS(Tensor(ctx, Shape{}), InvalidArgument);
  // PyTorch accepts these (an empty batch, nn.Linear(0, 4)); vkgrad cannot hold the zero-size
  // tensors they would need, so it refuses them by name.
  CHECK_THROWS_WITH(CrossEntropyLoss(ctx, 0), Catch::Contains("CrossEntropyLoss: rows must be >= 1"));
  CHECK_THROWS_WITH(NllLoss(ctx, 0), Catch::Contains("NllLoss: rows must be >= 1"));
  CHECK_THROWS_WITH(PointwiseLoss(ctx, PointwiseLossKind::mse, 0), Catch::Contains("elements must be >= 1"));
  CHECK_THROWS_WITH(ActivationSparsity(ctx, 0, 4), Catch::Contains("got 0 × 4"));
  CHECK_THROWS_WITH(ActivationSparsity(ctx, 4, 0), Catch::Contains("got 4 × 0"));
  CHECK_THROWS_WITH(nn::Linear(ctx, 0, 4), Catch::Contains("got 0 and 4"));
  CHECK_THROWS_WITH(nn::Linear(ctx, 4, 0), Catch::Contains("got 4 and 0"));
  CHECK_THROWS_WITH(nn::BatchNorm1d(ctx, 0), Catch::Contains("num_features must be >= 1"));
  // clip_grad_norm over no gradients: PyTorch returns a total norm of 0 and changes nothing.
  Tensor total(ctx, {1});
  total.fill(poison);
  Tensor workspace(ctx, {1});
  CommandList cmd(ctx);
  clip_grad_norm(cmd, std::span<Tensor* const>(), 1.0f, total, workspace);
  cmd.run();
  CHECK(total.to_vector() == std::vector<float>{0.0f});
  require_no_validation_messages();
}

TEST_CASE("the Trainer refuses out-of-range labels before training, leaving the model unchanged", "[bad-input][nn]") {
  Context& ctx = context();
  const uint64_t count = 40, features = 6;
  std::vector<uint8_t> images(count * features), labels(count);
  for (std::size_t i = 0; i < images.size(); ++i) images[i] = uint8_t(i * 37);
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = uint8_t(i % 3);
  labels[29] = 3;  // the model has 3 outputs
  nn::DeviceDataset data;
  data.images = Tensor::from<uint8_t>(ctx, {count, features}, images);
  data.labels = Tensor::from<uint8_t>(ctx, {count}, labels);
  nn::Sequential model(ctx);
  model.emplace<nn::Linear>(features, 3);
  {
    CommandList init(ctx);
    model.reset_parameters(init, 5);
    init.run();
  }
  const auto state = [&] {
    std::vector<std::vector<float>> s;
    for (const auto& p : model.parameters()) s.push_back(p.value->to_vector());
    return s;
  };
  const auto before = state();
  nn::CrossEntropyLoss loss(ctx);
  nn::SGD opt(model, SgdOptions{.lr = 0.1f});
  nn::TrainerOptions options;
  options.batch = 8;
  nn::Trainer trainer(ctx, model, loss, opt, options);
  CHECK_THROWS_WITH(trainer.train_epoch(data), Catch::Contains("sample 29 has label 3") && Catch::Contains("[0, 3)"));
  CHECK_THROWS_WITH(trainer.evaluate(data), Catch::Contains("sample 29 has label 3"));
  CHECK(state() == before);
  CHECK(opt.steps() == 0);
  // i32 labels too, and the ignore_index is accepted.
  std::vector<int32_t> wide(labels.begin(), labels.end());
  wide[29] = -100;
  data.labels = Tensor::from<int32_t>(ctx, {count}, wide);
  CHECK_NOTHROW(trainer.evaluate(data));
  wide[3] = -1;
  data.labels = Tensor::from<int32_t>(ctx, {count}, wide);
  CHECK_THROWS_WITH(trainer.train_epoch(data), Catch::Contains("sample 3 has label -1"));
  CHECK(state() == before);
  require_no_validation_messages();
}

}  // namespace vkgrad::test
