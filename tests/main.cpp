// Catch2 main for vkgrad's tests. Besides the per-test checks, a run that leaves any validation
// message behind fails as a whole.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <cstdio>

#include "harness.hpp"

int main(int argc, char* argv[]) {
  Catch::Session session;
  if (int rc = session.applyCommandLine(argc, argv); rc != 0) return rc;
  // A test spec that matches no test case fails the run (exit 2). CTest runs every test case by
  // its name, and a name CMake splits (at a ';') would otherwise "pass" without running anything.
  auto& config = session.configData();
  config.warnings = static_cast<Catch::WarnAbout::What>(config.warnings | Catch::WarnAbout::NoTests);
  int result = session.run();
  if (session.configData().listTests || session.configData().listTestNamesOnly) return result;
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
