// vkgrad-regression: trains a regression MLP with nn::Trainer and nn::MSELoss on f32 targets read
// from a safetensors file (x_train, y_train, x_test, y_test: (count, features) and (count, outputs)
// f32), then prints one JSON line: the test MSE and MAE, the training time, the device. Its initial
// parameters can be written out (--init-out, PyTorch's state_dict names) so that a PyTorch peer starts
// from the same weights: bench/regression_vs_pytorch.py drives both.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>

#include <vkgrad/vkgrad.hpp>

namespace {

vkgrad::Tensor load_f32(vkgrad::Context& ctx, const vkgrad::SafetensorsFile& file, const std::string& name) {
  const vkgrad::HostTensor* t = file.find(name);
  if (!t || t->dtype != "F32" || t->shape.size() != 2) {
    throw vkgrad::InvalidArgument("vkgrad-regression: the data file needs '" + name + "', F32 (count, width)");
  }
  vkgrad::Tensor out(ctx, {t->shape[0], t->shape[1]});
  vkgrad::load_into(*t, out, name);
  return out;
}

}  // namespace

int main(int argc, char** argv) try {
  std::string data_path, init_out;
  uint64_t seed = 0, epochs = 30, batch = 32;
  float lr = 1e-3f;
  std::vector<uint64_t> hidden{64, 64};
  CLI::App app{"Trains a ReLU MLP regressor with vkgrad's Trainer and MSELoss; prints test MSE / MAE as JSON"};
  app.add_option("--data", data_path, "safetensors file with x_train, y_train, x_test, y_test (F32)")->required();
  app.add_option("--seed", seed, "seed of the initial parameters and of the shuffles");
  app.add_option("--epochs", epochs, "training epochs");
  app.add_option("--batch", batch, "samples per step (the last partial batch is kept)");
  app.add_option("--lr", lr, "Adam's learning rate");
  app.add_option("--hidden", hidden, "hidden layer widths")->delimiter(',');
  app.add_option("--init-out", init_out, "write the initial parameters here (safetensors, PyTorch names)");
  CLI11_PARSE(app, argc, argv);

  vkgrad::Context ctx;
  const auto file = vkgrad::load_safetensors(data_path);
  vkgrad::nn::DeviceDataset train, test;
  train.images = load_f32(ctx, file, "x_train");
  train.targets = load_f32(ctx, file, "y_train");
  test.images = load_f32(ctx, file, "x_test");
  test.targets = load_f32(ctx, file, "y_test");

  vkgrad::nn::Sequential model(ctx);
  uint64_t width = train.features();
  for (uint64_t h : hidden) {
    model.emplace<vkgrad::nn::Linear>(width, h);
    model.emplace<vkgrad::nn::Activation>(vkgrad::Activation::relu);
    width = h;
  }
  model.emplace<vkgrad::nn::Linear>(width, train.targets.shape()[1]);
  vkgrad::CommandList init(ctx);
  model.reset_parameters(init, seed);
  init.run();
  if (!init_out.empty()) vkgrad::save_safetensors(init_out, model.state_dict());

  vkgrad::nn::MSELoss loss(ctx);
  vkgrad::nn::Adam opt(model, {.lr = lr});
  vkgrad::nn::Trainer trainer(ctx, model, loss, opt, {.batch = batch, .seed = seed});
  double train_seconds = 0;
  vkgrad::nn::Metrics last;
  for (uint64_t e = 0; e < epochs; ++e) {
    const auto t0 = std::chrono::steady_clock::now();
    last = trainer.train_epoch(train);
    train_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  const vkgrad::nn::Metrics m = trainer.evaluate(test);
  nlohmann::json out{
      {"test_mse", m.mse},           {"test_mae", m.mae}, {"train_mse", last.mse}, {"train_seconds", train_seconds},
      {"device", ctx.device().name}, {"seed", seed},      {"epochs", epochs},      {"batch", batch}};
  std::cout << out.dump() << std::endl;
  return 0;
} catch (const vkgrad::Error& e) {
  std::fprintf(stderr, "%s\n", e.what());
  return 1;
}
