// libFuzzer target: load_safetensors on arbitrary bytes must either load a consistent file or throw
// vkgrad::Error. A file that loads must also survive a save / load round trip unchanged.
#include <vkgrad/error.hpp>
#include <vkgrad/safetensors.hpp>

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = vkgrad::fuzz::input_file("input.safetensors");
  vkgrad::fuzz::write_input(path, data, size);
  vkgrad::SafetensorsFile file;
  try {
    file = vkgrad::load_safetensors(path);
  } catch (const vkgrad::Error&) {
    return 0;
  }
  for (const auto& [name, t] : file.tensors) {
    if (t.bytes.size() != t.numel() * vkgrad::safetensors_dtype_size(t.dtype)) __builtin_trap();
  }
  const auto copy = vkgrad::fuzz::input_file("copy.safetensors");
  try {
    vkgrad::save_safetensors(copy, file.tensors, file.metadata);
  } catch (const vkgrad::InvalidArgument&) {
    return 0;  // e.g. a name that is not UTF-8: refused on save, by design
  }
  const auto again = vkgrad::load_safetensors(copy);
  if (again.metadata != file.metadata || again.tensors.size() != file.tensors.size()) __builtin_trap();
  for (const auto& [name, t] : file.tensors) {
    const auto* u = again.find(name);
    if (!u || u->dtype != t.dtype || u->shape != t.shape || u->bytes != t.bytes) __builtin_trap();
  }
  return 0;
}
