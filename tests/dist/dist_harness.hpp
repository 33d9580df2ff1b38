// Shared by the vkgrad::dist tests (tests/dist/main.cpp owns both objects).
#pragma once

#include <vkgrad/dist.hpp>

namespace vkgrad::dist::test {

/// The Communicator that owns MPI for the test run.
Communicator& communicator();
/// This rank's Context, on the device dist::context_options picks, created on first use.
Context& context();

}  // namespace vkgrad::dist::test
