// vkgrad-mnist: trains an MLP on MNIST digits or Fashion-MNIST with vkgrad on any Vulkan device.
//
// The dataset is uploaded once as u8; each training step — batch gather and normalisation, forward,
// loss, backward, Adam/SGD update, loss and accuracy totals — is one command list recorded once and
// replayed (see vkgrad::nn::Trainer). Prints a live progress bar, per-epoch loss and accuracy, and at
// the end a per-layer activation sparsity report; writes CSV/SVG training curves and, on request,
// safetensors checkpoints PyTorch can load.
//
// Launched by mpirun / mpiexec (and built with vkgrad::dist), it trains data-parallel: one process
// per device, --batch the global batch, rank 0 alone printing and writing files.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include <vkgrad/vkgrad.hpp>
#ifdef VKGRAD_MNIST_DIST
#include <vkgrad/dist.hpp>
#endif

#include "pruning.hpp"
#include "report.hpp"

namespace fs = std::filesystem;
using vkgrad::nn::Sequential;

namespace {

struct Config {
  fs::path data;
  std::string dataset = "mnist";
  uint64_t epochs = 0;  // 0: the dataset's default (20 for mnist, 10 for fashion)
  uint64_t batch = 128;
  float lr = 1e-3f;
  std::string optimizer = "adam";
  float momentum = 0.9f;
  float weight_decay = -1;  // < 0: the optimizer's default
  std::vector<uint64_t> hidden{512, 256};
  std::string activation = "relu";
  std::vector<std::string> activation_params;
  float sparse_threshold = std::numeric_limits<float>::quiet_NaN();
  bool batchnorm = true;
  bool sync_batchnorm = false;
  float dropout = 0.2f;
  uint64_t seed = 1;
  std::string device;
  fs::path save, resume, curves, metrics_json;
  bool eval_only = false;
  bool no_save = false;
  bool quiet = false;
  uint32_t steps_per_submit = 0;
  bool check_finite = true;
  float sparsity_eps = 1e-3f;
  mnist::PruneFlags prune;
};

struct DatasetInfo {
  const char* title;
  float mean, std;
  uint64_t default_epochs;
};

DatasetInfo dataset_info(const std::string& name) {
  if (name == "fashion") return {"Fashion-MNIST", 0.2860f, 0.3530f, 10};
  return {"MNIST digits", 0.1307f, 0.3081f, 20};
}

// The processes of an MPI launch, as the launchers tell them (OpenMPI, MPICH / Intel MPI, PMIx):
// 0 when not launched by mpirun, -1 when launched but the size is not in the environment.
int mpi_launch_size() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"}) {
    if (const char* v = std::getenv(name)) return std::atoi(v);
  }
  return std::getenv("PMIX_RANK") != nullptr ? -1 : 0;
}

// Data-parallel training: the replicas (null alone). Rank 0 alone prints and writes files.
struct Replicas {
  vkgrad::nn::ReplicaGroup* group = nullptr;
  int rank = 0, size = 1;
  bool root() const { return rank == 0; }
};

vkgrad::ActivationSpec activation_spec(const Config& c) {
  const auto kind = vkgrad::activation_from_name(c.activation);
  if (!kind) {
    std::string names;
    for (const auto& a : vkgrad::activations()) names += std::string(names.empty() ? "" : ", ") + a.name;
    throw CLI::ValidationError("--activation", "unknown activation '" + c.activation + "'; choose one of: " + names);
  }
  vkgrad::ActivationSpec spec(*kind);
  for (const auto& p : c.activation_params) {
    const auto eq = p.find('=');
    if (eq == std::string::npos)
      throw CLI::ValidationError("--activation-param", "expected NAME=VALUE, got '" + p + "'");
    spec.set(p.substr(0, eq), std::stof(p.substr(eq + 1)));
  }
  if (!std::isnan(c.sparse_threshold)) spec.sparse_threshold(c.sparse_threshold);
  return spec;
}

void build_model(Sequential& model, const Config& c, uint64_t in_features, uint64_t classes) {
  const auto spec = activation_spec(c);
  uint64_t f = in_features;
  for (uint64_t h : c.hidden) {
    model.emplace<vkgrad::nn::Linear>(f, h);
    // BatchNorm1d normalises each replica's rows alone in data-parallel training (DDP's default);
    // SyncBatchNorm (--sync-batchnorm) over the global batch, as one process at that batch would.
    if (c.batchnorm && c.sync_batchnorm) {
      model.emplace<vkgrad::nn::SyncBatchNorm>(h);
    } else if (c.batchnorm) {
      model.emplace<vkgrad::nn::BatchNorm1d>(h);
    }
    model.emplace<vkgrad::nn::Activation>(spec);
    if (c.dropout > 0) model.emplace<vkgrad::nn::Dropout>(c.dropout);
    f = h;
  }
  model.emplace<vkgrad::nn::Linear>(f, classes);
  vkgrad::CommandList cmd(model.context());
  model.reset_parameters(cmd, c.seed);
  cmd.run();
}

std::unique_ptr<vkgrad::nn::Optimizer> make_optimizer(Sequential& model, const Config& c) {
  if (c.optimizer == "sgd") {
    vkgrad::SgdOptions o;
    o.lr = c.lr;
    o.momentum = c.momentum;
    if (c.weight_decay >= 0) o.weight_decay = c.weight_decay;
    return std::make_unique<vkgrad::nn::SGD>(model, o);
  }
  vkgrad::AdamOptions o = c.optimizer == "adamw" ? vkgrad::adamw_options() : vkgrad::AdamOptions{};
  o.lr = c.lr;
  if (c.weight_decay >= 0) o.weight_decay = c.weight_decay;
  return std::make_unique<vkgrad::nn::Adam>(model, o);
}

std::string model_description(const Config& c) {
  std::ostringstream s;
  s << "hidden=";
  for (std::size_t i = 0; i < c.hidden.size(); ++i) s << (i ? "," : "") << c.hidden[i];
  s << " activation=" << activation_spec(c).to_string() << " batchnorm=" << (c.batchnorm ? 1 : 0);
  if (c.batchnorm && c.sync_batchnorm) s << " sync_batchnorm=1";
  s << " dropout=" << c.dropout;
  if (c.prune.sparsity > 0 || c.prune.method == "n:m") {
    s << " prune=" << c.prune.method << "," << c.prune.schedule << "," << c.prune.sparsity;
  }
  return s.str();
}

vkgrad::nn::DeviceDataset upload(vkgrad::Context& ctx, const vkgrad::LabeledImages& split, const DatasetInfo& info) {
  vkgrad::nn::DeviceDataset d;
  const uint64_t count = split.count(), features = split.features();
  d.images = vkgrad::Tensor::from<uint8_t>(ctx, {count, features}, split.images);
  d.labels = vkgrad::Tensor::from<uint8_t>(ctx, {count}, split.labels);
  // x = (pixel / 255 − mean) / std
  d.scale = 1.0f / (255.0f * info.std);
  d.shift = -info.mean / info.std;
  return d;
}

// --export, --export-sparse and --time-inference, after training.
void export_model(Sequential& model, const Config& c, const vkgrad::LabeledImages& test, const DatasetInfo& info) {
  const auto size_of = [](const fs::path& p) { return static_cast<unsigned long long>(fs::file_size(p)); };
  for (const fs::path& p : {c.prune.export_dense, c.prune.export_sparse}) {
    if (!p.empty() && p.has_parent_path()) fs::create_directories(p.parent_path());
  }
  if (!c.prune.export_dense.empty()) {
    vkgrad::save_safetensors(c.prune.export_dense, model.state_dict(), {{"format", "pt"}});
    std::printf("model (dense): %s, %llu bytes\n", c.prune.export_dense.string().c_str(),
                size_of(c.prune.export_dense));
  }
  if (!c.prune.export_sparse.empty()) {
    vkgrad::nn::save_sparse(model, c.prune.export_sparse);
    std::printf("model (sparse CSR): %s, %llu bytes\n", c.prune.export_sparse.string().c_str(),
                size_of(c.prune.export_sparse));
  }
  if (c.prune.time_inference) {
    std::cout << "inference on the test set (ms per batch, best of 4 alternated rounds):\n"
              << mnist::time_inference(model, test.images, test.features(), 1.0f / (255.0f * info.std),
                                       -info.mean / info.std, {1, 128, 1024});
  }
}

int run(const Config& cfg_in, const Replicas& replicas, const vkgrad::ContextOptions& context_options) {
  Config c = cfg_in;
  // Only rank 0 prints (besides the per-epoch lines, which it alone prints too) and writes files.
  if (!replicas.root()) c.quiet = true;
  const DatasetInfo info = dataset_info(c.dataset);
  if (c.epochs == 0) c.epochs = info.default_epochs;
  if (c.data.empty()) c.data = fs::path("data") / c.dataset;
  if (c.save.empty() && !c.no_save && !c.eval_only)
    c.save = fs::path("runs") / ("vkgrad-" + c.dataset + ".safetensors");
  if (c.no_save) c.save.clear();
  if (!fs::is_directory(c.data)) {
    std::cerr << "error: data directory '" << c.data.string() << "' not found.\n"
              << "Fetch the datasets with:  bash scripts/fetch-data.sh   (then pass --data data/" << c.dataset
              << ", the default)\n";
    return 2;
  }
  const auto data = vkgrad::load_idx_dataset(c.data, /*max_classes=*/10);

  vkgrad::Context ctx(context_options);
  const auto& dev = ctx.device();
  if (!c.quiet) {
    if (replicas.group != nullptr) {
      std::cout << "data-parallel: " << replicas.size << " processes (MPI), global batch " << c.batch << " = "
                << c.batch / replicas.size << " per process; rank 0's ";
    }
    std::cout << "device: " << dev.name
              << (dev.driver_info.empty() ? "" : " (" + dev.driver_name + " " + dev.driver_info + ")") << "\n"
              << "data: " << info.title << " from " << c.data.string() << ": " << data.train.count() << " train, "
              << data.test.count() << " test images of " << data.train.features() << " pixels\n";
  }
  auto train_set = upload(ctx, data.train, info);
  auto test_set = upload(ctx, data.test, info);
  const uint64_t classes = 10;

  Sequential model(ctx);
  build_model(model, c, train_set.features(), classes);
  vkgrad::nn::CrossEntropyLoss loss(ctx);
  auto opt = make_optimizer(model, c);
  // With replicas, rank 0 reads it and the Trainer broadcasts rank 0's weights at construction.
  if (c.eval_only && replicas.root()) model.load_state_dict(vkgrad::nn::load_checkpoint_model_state(c.resume));
  if (!c.quiet) {
    std::cout << model.summary(train_set.features()) << "optimizer: " << opt->to_string() << ", batch " << c.batch
              << ", loss: CrossEntropyLoss\n";
  }

  vkgrad::nn::TrainerOptions topt;
  topt.batch = c.batch;
  topt.seed = c.seed;
  topt.steps_per_submit = c.steps_per_submit;
  topt.check_finite = c.check_finite;
  topt.measure_sparsity = true;
  topt.sparsity_eps = c.sparsity_eps;
  topt.replicas = replicas.group;
  vkgrad::nn::Trainer trainer(ctx, model, loss, *opt, topt);
  c.prune.seed = c.seed;
  const auto pruner = c.eval_only ? nullptr : mnist::make_pruner(model, c.prune);
  if (pruner && !c.quiet) std::cout << mnist::describe(c.prune) << "\n";
  if (!c.resume.empty() && !c.eval_only) {
    // The weights, the optimizer state, the dropout seed and step, the shuffle seed and the epochs
    // done: the run continues exactly as it would have without the interruption.
    trainer.load_checkpoint(c.resume);
    if (!c.quiet) {
      std::cout << "resumed from " << c.resume.string() << " after " << trainer.epochs_done() << " epochs\n";
    }
  }
  const uint64_t epochs_done = trainer.epochs_done();

  nlohmann::json metrics{
      {"framework", "vkgrad"}, {"device", dev.name}, {"driver", dev.driver_name + " " + dev.driver_info},
      {"dataset", c.dataset},  {"batch", c.batch},   {"epochs", nlohmann::json::array()}};
  std::vector<mnist::EpochRecord> records;
  mnist::Progress progress(c.quiet);
  if (c.eval_only) {
    const auto test = trainer.evaluate(test_set);
    if (replicas.root())
      std::printf("test loss %.4f  test accuracy %.2f%% (%llu images)\n", test.loss, 100 * test.accuracy,
                  (unsigned long long)test.samples);
  }
  const uint64_t first = epochs_done + 1, last = c.eval_only ? epochs_done : c.epochs;
  if (!c.eval_only && first > last && !c.quiet) {
    std::cout << "nothing to train: the checkpoint already has " << epochs_done << " epochs (--epochs " << c.epochs
              << ")\n";
  }
  for (uint64_t epoch = first; epoch <= last; ++epoch) {
    // Pruning at t = epochs trained so far; a resumed run has its masks from the checkpoint and
    // prunes at the same points as the uninterrupted one.
    if (pruner && pruner->step(epoch - 1) && replicas.root()) {
      std::printf("pruned after %llu epochs: target %.2f%%, weights of the pruned layers %.2f%% zero\n",
                  (unsigned long long)(epoch - 1), 100 * pruner->options().schedule.sparsity_at(epoch - 1),
                  100 * pruner->sparsity());
    }
    progress.start_epoch(epoch, c.epochs, train_set.count());
    const auto t0 = std::chrono::steady_clock::now();
    const vkgrad::nn::CommunicationStats comm0 = trainer.communication();
    vkgrad::nn::Metrics train;
    try {
      train = trainer.train_epoch(
          train_set, [&](uint64_t done, uint64_t, const vkgrad::nn::Metrics& m) { progress.update(done, m); });
    } catch (const vkgrad::Error&) {
      progress.finish();  // clear the bar, so the error message starts on a clean line
      throw;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    progress.finish();
    const vkgrad::nn::CommunicationStats comm1 = trainer.communication();
    const auto test = trainer.evaluate(test_set);
    mnist::EpochRecord r{epoch, train.loss, train.accuracy, test.loss, test.accuracy, seconds};
    records.push_back(r);
    metrics["epochs"].push_back({{"epoch", epoch},
                                 {"seconds", seconds},
                                 {"train_loss", train.loss},
                                 {"train_acc", train.accuracy},
                                 {"test_loss", test.loss},
                                 {"test_acc", test.accuracy}});
    if (replicas.root()) {
      std::printf(
          "epoch %llu/%llu  train loss %.4f  train acc %.2f%%  test loss %.4f  test acc %.2f%%  (%s, %.0f "
          "samples/s",
          (unsigned long long)epoch, (unsigned long long)c.epochs, train.loss, 100 * train.accuracy, test.loss,
          100 * test.accuracy, mnist::format_duration(seconds).c_str(), double(train.samples) / seconds);
      // The gradient reduction between the processes: host time per step (copies not included).
      const uint64_t steps = comm1.reductions - comm0.reductions;
      if (replicas.group != nullptr && steps > 0) {
        const double per_step = (comm1.seconds - comm0.seconds) / double(steps);
        std::printf(", communication %.2f ms/step, %.0f MB/s", 1e3 * per_step,
                    double(comm1.bytes_per_step) / per_step / 1e6);
      }
      std::printf(")\n");
      std::fflush(stdout);
    }
    if (!c.save.empty()) {
      if (replicas.root() && c.save.has_parent_path()) fs::create_directories(c.save.parent_path());
      // Every process calls it; rank 0 writes, the others wait for the file.
      trainer.save_checkpoint(c.save, {{"dataset", c.dataset}, {"flags", model_description(c)}});
    }
  }
  if (!records.empty() && replicas.root()) {
    if (!c.quiet) std::printf("steps per submission: %u\n", trainer.steps_per_submit());
    const fs::path prefix = c.curves.empty() ? fs::path("runs") / ("vkgrad-" + c.dataset) : c.curves;
    mnist::write_curves(prefix, records, std::string("vkgrad ") + info.title + " — " + model_description(c));
    if (!c.quiet) std::cout << "curves: " << prefix.string() << ".csv, " << prefix.string() << ".svg\n";
  }
  if (replicas.root() && (!c.quiet || c.eval_only)) {
    if (records.empty() && !c.eval_only) trainer.evaluate(test_set);
    std::cout << "\nactivation sparsity on the test set:\n"
              << mnist::sparsity_report(trainer.sparsity(), c.sparsity_eps);
    std::cout << "\nweight sparsity:\n" << vkgrad::nn::format_weight_sparsity(vkgrad::nn::weight_sparsity(model));
  }
  if (replicas.root()) export_model(model, c, data.test, info);
  if (!c.save.empty() && !records.empty() && !c.quiet) {
    std::cout << "checkpoint: " << c.save.string()
              << " (for --resume; PyTorch: model.load_state_dict(safetensors.torch.load_file(...), strict=False))\n";
  }
  if (!c.metrics_json.empty() && replicas.root()) {
    std::ofstream out(c.metrics_json);
    out << metrics.dump(2) << "\n";
    if (!out) throw std::runtime_error("cannot write " + c.metrics_json.string());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  CLI::App app{
      "vkgrad-mnist: train a multilayer perceptron on MNIST digits or Fashion-MNIST on any Vulkan device.\n"
      "Get the data first with: bash scripts/fetch-data.sh"};
  app.add_option("--data", c.data,
                 "directory with the four IDX files (train-images-idx3-ubyte etc., raw or .gz); "
                 "default data/<dataset>");
  app.add_option("--dataset", c.dataset,
                 "mnist (10,000 real digits, 8,000 train / 2,000 test) or fashion "
                 "(Fashion-MNIST, 60,000 / 10,000); sets the normalisation")
      ->check(CLI::IsMember({"mnist", "fashion"}))
      ->capture_default_str();
  app.add_option("--epochs", c.epochs, "training epochs (default: 20 for mnist, 10 for fashion)");
  app.add_option("--batch", c.batch, "samples per training step")
      ->check(CLI::Range(uint64_t(2), uint64_t(1) << 20))
      ->capture_default_str();
  app.add_option("--lr", c.lr, "learning rate")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--optimizer", c.optimizer, "adam, adamw or sgd (PyTorch defaults otherwise)")
      ->check(CLI::IsMember({"adam", "adamw", "sgd"}))
      ->capture_default_str();
  app.add_option("--momentum", c.momentum, "SGD momentum")->capture_default_str();
  app.add_option("--weight-decay", c.weight_decay, "weight decay (default: 0 for adam/sgd, 0.01 for adamw)");
  app.add_option("--hidden", c.hidden, "hidden layer sizes, comma separated")->delimiter(',')->capture_default_str();
  app.add_option("--activation", c.activation,
                 "activation after each hidden layer: any of vkgrad's (relu, gelu, silu, leaky_relu, elu, tanh, ...)")
      ->capture_default_str();
  app.add_option("--activation-param", c.activation_params,
                 "activation parameter by its PyTorch name, e.g. negative_slope=0.1 (repeatable)");
  app.add_option("--sparse-threshold", c.sparse_threshold,
                 "wrap the activation in the sparse threshold: y = x > THETA ? f(x) : 0");
  app.add_flag("--batchnorm,!--no-batchnorm", c.batchnorm, "BatchNorm1d after each hidden Linear (default on)");
  app.add_flag("--sync-batchnorm", c.sync_batchnorm,
               "with --batchnorm: SyncBatchNorm, whose batch statistics span every process of a data-parallel run "
               "(mpirun), so N processes at global batch B normalise as one process at B; alone, the same as "
               "BatchNorm1d");
  app.add_option("--dropout", c.dropout, "dropout probability after each hidden activation (0 = none)")
      ->check(CLI::Range(0.0f, 0.99f))
      ->capture_default_str();
  app.add_option("--seed", c.seed, "seed of the initial weights, the dropout masks and the shuffles")
      ->capture_default_str();
  app.add_option("--device", c.device, "Vulkan device by index or name substring (default: VKGRAD_DEVICE or the best)");
  app.add_option("--save", c.save,
                 "safetensors checkpoint written after every epoch: the model's state_dict under PyTorch's "
                 "names, and the optimizer and trainer state under vkgrad.* for --resume; "
                 "default runs/vkgrad-<dataset>.safetensors");
  app.add_flag("--no-save", c.no_save, "write no checkpoint");
  app.add_option("--resume", c.resume,
                 "continue exactly from a checkpoint saved with --save (same model flags and optimizer; "
                 "its seed and epochs done are restored)");
  app.add_flag("--eval-only", c.eval_only,
               "only evaluate the --resume checkpoint on the test set (the weights of a --save "
               "checkpoint or of any state_dict file)");
  app.add_option("--curves", c.curves, "prefix of the curve files (default runs/vkgrad-<dataset>: .csv and .svg)");
  app.add_option("--metrics-json", c.metrics_json, "write per-epoch time, loss and accuracy as JSON");
  app.add_option("--steps-per-submit", c.steps_per_submit,
                 "training steps per GPU submission (default 0: chosen from the measured step time, ~50 ms)");
  app.add_flag("--check-finite,!--no-check-finite", c.check_finite,
               "stop at the first NaN/inf loss, naming the batch and the layer (checked on the device; default on)");
  app.add_flag("--quiet,-q", c.quiet, "only the per-epoch lines");
  mnist::add_prune_flags(app, c.prune);
  CLI11_PARSE(app, argc, argv);
  if (c.eval_only && c.resume.empty()) {
    std::cerr << "error: --eval-only needs --resume CHECKPOINT\n";
    return 2;
  }
  const int launch_size = mpi_launch_size();
#ifdef VKGRAD_MNIST_DIST
  // Launched by mpirun: one process per device, data-parallel. MPI lives until main returns.
  std::unique_ptr<vkgrad::dist::Communicator> comm;
  Replicas replicas;
  vkgrad::ContextOptions context_options = vkgrad::ContextOptions{}.set_device(c.device);
  try {
    if (launch_size != 0) {
      // Rank-order sums: the results do not depend on MPI's choice of reduction algorithm.
      comm = std::make_unique<vkgrad::dist::Communicator>(vkgrad::dist::CommunicatorOptions{.deterministic = true});
      if (comm->size() > 1) replicas = {comm.get(), comm->rank(), comm->size()};
      context_options = vkgrad::dist::context_options(*comm, context_options);
    }
    return run(c, replicas, context_options);
  } catch (const std::exception& e) {
    // A process that fails alone would leave the others waiting for it: end the whole job.
    if (replicas.group != nullptr) comm->abort(1, std::string("error: ") + e.what());
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
#else
  if (launch_size > 1 || launch_size < 0) {
    std::cerr << "error: launched by mpirun, but this vkgrad-mnist was built without data-parallel training "
                 "(vkgrad::dist): install MPI (Debian: libopenmpi-dev openmpi-bin) and configure with "
                 "-DVKGRAD_DIST=ON, or run it without mpirun\n";
    return 2;
  }
  try {
    return run(c, Replicas{}, vkgrad::ContextOptions{}.set_device(c.device));
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
#endif
}
