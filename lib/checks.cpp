#include "checks.hpp"

#include <string>

#include "command_impl.hpp"
#include "errors.hpp"
#include "vkgrad/error.hpp"

namespace vkgrad::detail {

namespace {
// Messages are built by appending: GCC 12 warns falsely (-Wstringop-overflow) on chains of
// "literal" + std::string temporaries.
std::string role_and_shape(std::string_view role, const Tensor& t) {
  std::string s = "'";
  s.append(role).append("' ").append(t.shape().to_string());
  return s;
}

std::string dtype_and_shape(const Tensor& t) {
  std::string s = to_string(t.dtype());
  s.append(" ").append(t.shape().to_string());
  return s;
}

// "f32", "f32 or f16", "f32, f16 or u8".
std::string dtype_list(std::initializer_list<DType> types) {
  std::string s;
  std::size_t i = 0;
  for (const DType type : types) {
    if (i > 0) s.append(i + 1 == types.size() ? " or " : ", ");
    s.append(to_string(type));
    ++i;
  }
  return s;
}

bool one_of(DType type, std::initializer_list<DType> types) {
  for (const DType t : types) {
    if (t == type) return true;
  }
  return false;
}

std::string count_of_elements(uint64_t count) {
  std::string s = std::to_string(count);
  s.append(count == 1 ? " element" : " elements");
  return s;
}
}  // namespace

void fail_argument(std::string_view op, std::string_view what) {
  std::string message = "vkgrad: ";
  message.append(op).append(": ").append(what);
  throw InvalidArgument(message);
}

void require_dtype(const Tensor& t, DType type, std::string_view op, std::string_view role) {
  require_dtype(t, {type}, op, role);
}

void require_dtype(const Tensor& t, std::initializer_list<DType> types, std::string_view op, std::string_view role) {
  if (one_of(t.dtype(), types)) return;
  std::string what = "'";
  what.append(role).append("' must be ").append(dtype_list(types)).append(", got ").append(dtype_and_shape(t));
  fail_argument(op, what);
}

void check_f32(const CommandListImpl& c, const Tensor& t, std::string_view op, std::string_view role) {
  c.check_tensor(t, op, role);
  require_f32(t, op, role);
}

void require_matrix(const Tensor& t, std::string_view op, std::string_view role, std::initializer_list<DType> types,
                    std::string_view layout) {
  if (one_of(t.dtype(), types) && t.shape().rank() == 2) return;
  std::string what = "'";
  what.append(role).append("' must be a 2-D ").append(dtype_list(types)).append(" tensor");
  if (!layout.empty()) what.append(" ").append(layout);
  what.append(", got ").append(dtype_and_shape(t));
  fail_argument(op, what);
}

void require_numel(const Tensor& t, uint64_t count, std::string_view op, std::string_view role, std::string_view what) {
  if (t.numel() == count) return;
  std::string message = "'";
  message.append(role).append("' must hold ").append(count_of_elements(count));
  if (!what.empty()) message.append(" (").append(what).append(")");
  message.append(", got ").append(t.shape().to_string());
  fail_argument(op, message);
}

void require_per_channel(const Tensor& t, std::string_view role, const Tensor& x, std::string_view x_role,
                         std::string_view op) {
  const uint64_t channels = x.shape()[1];
  if (t.numel() == channels) return;
  fail_argument(op, role_and_shape(role, t) + " must have one element per channel of " + role_and_shape(x_role, x) +
                        " (" + std::to_string(channels) + ")");
}

void check_step_counter(const CommandListImpl& c, const Tensor& t, std::string_view op, std::string_view role) {
  c.check_tensor(t, op, role);
  if (t.dtype() == DType::i32 && t.numel() == 1) return;
  std::string what = "'";
  what.append(role).append("' must be the i32 [1] step counter (make_step_counter), got ").append(dtype_and_shape(t));
  fail_argument(op, what);
}

void require_same_count(const Tensor& a, std::string_view a_role, const Tensor& b, std::string_view b_role,
                        std::string_view op) {
  if (a.numel() == b.numel()) return;
  fail_argument(
      op, role_and_shape(a_role, a) + " and " + role_and_shape(b_role, b) + " must have the same number of elements");
}

void require_same_shape(const Tensor& a, std::string_view a_role, const Tensor& b, std::string_view b_role,
                        std::string_view op) {
  if (a.shape() == b.shape()) return;
  fail_argument(op, role_and_shape(a_role, a) + " and " + role_and_shape(b_role, b) + " must have the same shape");
}

void require_distinct(const Tensor& out, std::string_view out_role, const Tensor& other, std::string_view other_role,
                      std::string_view op) {
  if (&out.buffer() != &other.buffer()) return;
  std::string what = "'";
  what.append(out_role).append("' must not be the same tensor as '").append(other_role);
  what.append("' (the op writes '").append(out_role).append("' while it reads or writes '").append(other_role);
  fail_argument(op, what.append("')"));
}

void require_not_moved_from(const Tensor& owned, std::string_view type) {
  if (owned.empty()) fail_moved_from(type);
}

void require_32bit_indexable(const Tensor& t, std::string_view op, std::string_view role) {
  if (t.numel() <= UINT32_MAX) return;
  std::string message = "vkgrad: ";
  message.append(op).append(": ").append(role_and_shape(role, t));
  throw UnsupportedError(message.append(" has more than 2^32 - 1 elements (the shaders index with 32-bit integers)"));
}

}  // namespace vkgrad::detail
