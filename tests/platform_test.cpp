// The platform layer's Vulkan loader lookup (lib/platform.hpp): the platform's names are tried in
// order, the first that opens gives vkGetInstanceProcAddr, and when none opens the Context's error
// names every file tried and says what to install.
#include <catch2/catch.hpp>
#include <array>
#include <string>

#include "context_impl.hpp"
#include "platform.hpp"
#include "vkgrad/error.hpp"

namespace vkgrad::test {

TEST_CASE("the Vulkan loader opens through the platform's names", "[platform]") {
  const auto names = detail::platform::vulkan_loader_names();
  REQUIRE_FALSE(names.empty());
  std::string error = "stale";
  const auto get_instance_proc_addr = detail::platform::open_vulkan_loader(names, error);
  REQUIRE(get_instance_proc_addr != nullptr);
  CHECK(error.empty());
  // The function is the loader's: it resolves a global command.
  const auto get = reinterpret_cast<PFN_vkGetInstanceProcAddr>(get_instance_proc_addr);
  CHECK(get(VK_NULL_HANDLE, "vkCreateInstance") != nullptr);
  // A name that does not open is skipped for the next one.
  const std::array<const char*, 2> missing_first{"vkgrad-no-such-loader", names[0]};
  CHECK(detail::platform::open_vulkan_loader(missing_first, error) == get_instance_proc_addr);
  CHECK(error.empty());
  auto loader = detail::open_loader();
  CHECK(loader.enumerateInstanceVersion() >= VK_API_VERSION_1_1);
}

TEST_CASE("without a Vulkan loader, the error names each file tried and how to install one", "[platform]") {
  const std::array<const char*, 2> missing{"vkgrad-no-such-loader-a", "vkgrad-no-such-loader-b"};
  std::string error;
  CHECK(detail::platform::open_vulkan_loader(missing, error) == nullptr);
  CHECK_THAT(error, Catch::StartsWith("vkgrad-no-such-loader-a: ") && Catch::Contains("; vkgrad-no-such-loader-b: "));
  try {
    detail::open_loader(missing);
    FAIL("expected SetupError");
  } catch (const SetupError& e) {
    const std::string what = e.what();
    CHECK_THAT(what, Catch::StartsWith("vkgrad: cannot load the Vulkan loader (vkgrad-no-such-loader-a: "));
    CHECK_THAT(what, Catch::Contains("vkgrad-no-such-loader-b: "));
    CHECK_THAT(what, Catch::Contains(detail::platform::vulkan_loader_install_hint()));
  }
  CHECK(detail::platform::open_vulkan_loader({}, error) == nullptr);
  CHECK(error == "no file name to try");
}

}  // namespace vkgrad::test
