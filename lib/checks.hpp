// Argument checks shared by every op: each throws InvalidArgument naming the op, the tensor's role
// and the shapes involved, before anything is recorded. Checks that only one op needs stay in that
// op's file, written with fail_argument.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string_view>

#include "vkgrad/tensor.hpp"

namespace vkgrad::detail {

struct CommandListImpl;

/// Throws InvalidArgument("vkgrad: <op>: <what>").
[[noreturn]] void fail_argument(std::string_view op, std::string_view what);

void require_dtype(const Tensor& t, DType type, std::string_view op, std::string_view role);
/// One of `types`: "'src' must be f32 or u8, got i32 [4, 5]".
void require_dtype(const Tensor& t, std::initializer_list<DType> types, std::string_view op, std::string_view role);
inline void require_f32(const Tensor& t, std::string_view op, std::string_view role) {
  require_dtype(t, DType::f32, op, role);
}
/// The tensor is usable on this command list (check_tensor) and f32.
void check_f32(const CommandListImpl& c, const Tensor& t, std::string_view op, std::string_view role);
/// 2-D and of one of `types`: "'A' must be a 2-D f32 or f16 tensor, got f32 [12]". `layout`, when
/// given, names the dimensions: "(N, C)".
void require_matrix(const Tensor& t, std::string_view op, std::string_view role,
                    std::initializer_list<DType> types = {DType::f32}, std::string_view layout = {});
/// Exactly `count` elements: "'cursor' must hold 1 element, got [2]"; `what`, when given, says what
/// they are: "'loss' must hold 1 element (a mean loss), got [8]".
void require_numel(const Tensor& t, uint64_t count, std::string_view op, std::string_view role,
                   std::string_view what = {});
/// One element per channel (dimension 1) of x, which has at least 2 dimensions:
/// "'gamma' [4] must have one element per channel of 'x' [3, 5] (5)".
void require_per_channel(const Tensor& t, std::string_view role, const Tensor& x, std::string_view x_role,
                         std::string_view op);
/// The i32 [1] step counter of make_step_counter, usable on this command list.
void check_step_counter(const CommandListImpl& c, const Tensor& t, std::string_view op, std::string_view role);
void require_same_count(const Tensor& a, std::string_view a_role, const Tensor& b, std::string_view b_role,
                        std::string_view op);
void require_same_shape(const Tensor& a, std::string_view a_role, const Tensor& b, std::string_view b_role,
                        std::string_view op);
/// `out` is not the same tensor as `other`: an op must not write a tensor that it reads or writes
/// through another argument in the same dispatch.
void require_distinct(const Tensor& out, std::string_view out_role, const Tensor& other, std::string_view other_role,
                      std::string_view op);
/// InvalidArgument naming `type` as moved from when `owned`, a tensor that every `type` holds until
/// it is moved from, is empty.
void require_not_moved_from(const Tensor& owned, std::string_view type);
/// The shaders index with 32-bit integers: UnsupportedError for more than 2^32 - 1 elements.
void require_32bit_indexable(const Tensor& t, std::string_view op, std::string_view role);

}  // namespace vkgrad::detail
