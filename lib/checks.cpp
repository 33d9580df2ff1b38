#include "checks.hpp"

#include <string>

#include "command_impl.hpp"
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
}  // namespace

void fail_argument(std::string_view op, std::string_view what) {
  std::string message = "vkgrad: ";
  message.append(op).append(": ").append(what);
  throw InvalidArgument(message);
}

void require_dtype(const Tensor& t, DType type, std::string_view op, std::string_view role) {
  if (t.dtype() == type) return;
  std::string what = "'";
  what.append(role).append("' must be ").append(to_string(type)).append(", got ");
  what.append(to_string(t.dtype())).append(" ").append(t.shape().to_string());
  fail_argument(op, what);
}

void check_f32(const CommandListImpl& c, const Tensor& t, std::string_view op, std::string_view role) {
  c.check_tensor(t, op, role);
  require_f32(t, op, role);
}

void require_same_count(const Tensor& a, std::string_view a_role, const Tensor& b, std::string_view b_role,
                        std::string_view op) {
  if (a.numel() == b.numel()) return;
  fail_argument(op, role_and_shape(a_role, a) + " and " + role_and_shape(b_role, b) +
                        " must have the same number of elements");
}

void require_same_shape(const Tensor& a, std::string_view a_role, const Tensor& b, std::string_view b_role,
                        std::string_view op) {
  if (a.shape() == b.shape()) return;
  fail_argument(op, role_and_shape(a_role, a) + " and " + role_and_shape(b_role, b) + " must have the same shape");
}

}  // namespace vkgrad::detail
