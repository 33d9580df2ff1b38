// Catch2 main of the vkgrad::dist tests, run by mpiexec (tests/dist/CMakeLists.txt): one
// Communicator owns MPI for the whole run, and one Context per rank (its device picked by
// dist::context_options) serves every test. Every rank runs every test case in declaration order,
// so the collectives match; a validation message on any rank fails that rank's run.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dist_harness.hpp"

namespace vkgrad::dist::test {

namespace {
std::unique_ptr<Communicator> world;
std::unique_ptr<Context> device;
std::mutex messages_mutex;
std::vector<std::string> messages;
}  // namespace

Communicator& communicator() { return *world; }

Context& context() {
  if (!device) {
    ContextOptions options = context_options(*world);
    options.on_validation_message = [](std::string_view message) {
      std::fprintf(stderr, "vkgrad: %.*s\n", static_cast<int>(message.size()), message.data());
      std::lock_guard lock(messages_mutex);
      messages.emplace_back(message);
    };
    device = std::make_unique<Context>(options);
  }
  return *device;
}

}  // namespace vkgrad::dist::test

int main(int argc, char* argv[]) {
  using namespace vkgrad::dist::test;
  world = std::make_unique<vkgrad::dist::Communicator>();
  int result = Catch::Session().run(argc, argv);
  // The context goes before MPI is finalized, and its validation messages fail the run.
  device.reset();
  if (!messages.empty()) {
    std::fprintf(stderr, "rank %d: %zu validation message(s)\n", world->rank(), messages.size());
    if (result == 0) result = 1;
  }
  world.reset();
  return result;
}
