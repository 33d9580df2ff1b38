// cast (vkgrad/cast.hpp): one shader, cast.comp, with half.glsl's integer conversions.
#include "vkgrad/cast.hpp"

#include "checks.hpp"
#include "command_impl.hpp"
#include "cpu_kernels.hpp"

namespace vkgrad {

void cast(CommandList& cmd, const Tensor& src, Tensor& dst) {
  auto& c = cmd.impl();
  const std::string op = "cast";
  c.check_tensor(src, op, "src");
  c.check_tensor(dst, op, "dst");
  const bool to_half = src.dtype() == DType::f32 && dst.dtype() == DType::f16;
  const bool from_half = src.dtype() == DType::f16 && dst.dtype() == DType::f32;
  if (!to_half && !from_half) {
    detail::fail_argument(op, std::string("converts f32 to f16 or f16 to f32, got '") + to_string(src.dtype()) +
                                  "' src and '" + to_string(dst.dtype()) + "' dst");
  }
  detail::require_same_shape(src, "src", dst, "dst", op);
  detail::require_distinct(dst, "dst", src, "src", op);
  detail::require_32bit_indexable(src, op, "src");
  const uint32_t push = static_cast<uint32_t>(src.numel());
  // An f16 dst of odd length keeps the upper half of its last word (the shader reads it back).
  const auto dst_access = to_half && push % 2 != 0 ? detail::Access::read_write : detail::Access::write;
  const uint32_t local = detail::default_local_size(c.device());
  const std::initializer_list<detail::BufferUse> uses{{&src, detail::Access::read}, {&dst, dst_access}};
  // Where the context reads through texel buffers, src's bits come through its R32G32B32A32_UINT
  // view (cast.comp's _texel build).
  const detail::Kernel kernel = detail::Kernel{"cast", {local, to_half ? 1u : 0u}, 2, sizeof push};
  // Steps of 8 elements; on CPU devices up to 2 steps per invocation (the elementwise ops' grid).
  const uint64_t steps = (src.numel() + 7) / 8;
  c.dispatch(kernel, uses, &push, sizeof push,
             {detail::grid_stride_groups(c.context(), steps, local, detail::cpu::kGridSteps / 2), 1, 1}, op);
}

}  // namespace vkgrad
