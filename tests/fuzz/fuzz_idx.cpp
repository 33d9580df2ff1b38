// libFuzzer target: read_idx on arbitrary bytes (raw or gzip) must either return an array whose
// data matches its dimensions or throw vkgrad::Error — never crash, leak or read out of bounds.
#include <vkgrad/idx.hpp>
#include <vkgrad/error.hpp>

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = vkgrad::fuzz::input_file("input.idx");
  vkgrad::fuzz::write_input(path, data, size);
  try {
    const auto a = vkgrad::read_idx(path, vkgrad::IdxLimits{uint64_t(1) << 24});
    uint64_t n = 1;
    for (uint64_t d : a.dims) n *= d;
    if (a.dims.empty() || a.dims.size() > 4 || n != a.data.size()) __builtin_trap();
  } catch (const vkgrad::Error&) {
  }
  return 0;
}
