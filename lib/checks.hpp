// Argument checks shared by every op: each throws InvalidArgument naming the op, the tensor's role
// and the shapes involved, before anything is recorded.
#pragma once

#include <string_view>

#include "vkgrad/tensor.hpp"

namespace vkgrad::detail {

struct CommandListImpl;

/// Throws InvalidArgument("vkgrad: <op>: <what>").
[[noreturn]] void fail_argument(std::string_view op, std::string_view what);

void require_dtype(const Tensor& t, DType type, std::string_view op, std::string_view role);
inline void require_f32(const Tensor& t, std::string_view op, std::string_view role) {
  require_dtype(t, DType::f32, op, role);
}
/// The tensor is usable on this command list (check_tensor) and f32.
void check_f32(const CommandListImpl& c, const Tensor& t, std::string_view op, std::string_view role);
void require_same_count(const Tensor& a, std::string_view a_role, const Tensor& b, std::string_view b_role,
                        std::string_view op);
void require_same_shape(const Tensor& a, std::string_view a_role, const Tensor& b, std::string_view b_role,
                        std::string_view op);

}  // namespace vkgrad::detail
