#include "mask_ref.hpp"

namespace vkgrad::ref {

void mask_apply(const std::vector<double>& mask, std::vector<double>& target) {
  for (std::size_t i = 0; i < mask.size(); ++i) {
    if (mask[i] == 0.0) target[i] = 0.0;  // a select: +0 whatever target[i] was
  }
}

}  // namespace vkgrad::ref
