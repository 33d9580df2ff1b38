// Catch2 main for vkgrad's tests. Besides the per-test checks, a run that leaves any validation
// message behind fails as a whole.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "harness.hpp"
#include "platform.hpp"

int main(int argc, char* argv[]) {
  // `--env NAME=VALUE` (any number, before Catch's own arguments are parsed) sets an environment
  // variable for this run, before any Vulkan driver is loaded: the width4 CTest copies use it to
  // select the GPU kernels and lavapipe's 4-wide subgroups (tests/CMakeLists.txt).
  std::vector<char*> args{argv[0]};
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--env") == 0 && i + 1 < argc) {
      char* assignment = argv[++i];
      char* equals = std::strchr(assignment, '=');
      if (equals == nullptr || equals == assignment) {
        std::fprintf(stderr, "vkgrad_tests: --env takes NAME=VALUE, got '%s'\n", assignment);
        return 2;
      }
      *equals = '\0';
      if (!vkgrad::detail::platform::set_environment(assignment, equals + 1)) {
        std::fprintf(stderr, "vkgrad_tests: cannot set %s\n", assignment);
        return 2;
      }
      continue;
    }
    args.push_back(argv[i]);
  }
  Catch::Session tests;
  if (int rc = tests.applyCommandLine(static_cast<int>(args.size()), args.data()); rc != 0) return rc;
  // A test spec that matches no test case fails the run (exit 2). CTest runs every test case by
  // its name, and a name CMake splits (at a ';') would otherwise "pass" without running anything.
  auto& config = tests.configData();
  config.warnings = static_cast<Catch::WarnAbout::What>(config.warnings | Catch::WarnAbout::NoTests);
  int result = tests.run();
  if (tests.configData().listTests || tests.configData().listTestNamesOnly) return result;
  if (auto* ctx = vkgrad::test::existing_context()) {
    const auto messages = ctx->validation_messages();
    for (const auto& m : messages) std::fprintf(stderr, "unreported %s\n", m.c_str());
    if (!messages.empty() && result == 0) result = 1;
  }
  // The context goes now, not with the static objects at exit: the validation layer and the driver
  // are loaded while the first test creates it, so their own static objects are destroyed before
  // it would be, and the layer then loses track of the vkDestroy* calls (the driver's objects leak;
  // LeakSanitizer finds them). Destroying it here also checks what the layer reports on the way out.
  for (const auto& m : vkgrad::test::destroy_context()) {
    std::fprintf(stderr, "while destroying the test context: %s\n", m.c_str());
    if (result == 0) result = 1;
  }
  return result;
}
