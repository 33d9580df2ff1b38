#include "reference/nonfinite_ref.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace vkgrad::ref {

void nonfinite_check(std::vector<int32_t>& status, const std::vector<std::vector<float>>& tensors,
                     std::size_t loss_index, int32_t cursor) {
  const int32_t stamp = cursor + 1;
  if (status[0] != 0) return;  // frozen at an earlier step
  for (std::size_t s = 0; s < tensors.size(); ++s) {
    bool bad = false;
    for (float v : tensors[s]) bad = bad || !std::isfinite(v);
    if (bad) status[2 + s] = std::max(status[2 + s], stamp);
  }
  if (loss_index < tensors.size() && !std::isfinite(tensors[loss_index][0])) {
    status[0] = stamp;
    std::memcpy(&status[1], &tensors[loss_index][0], sizeof(float));
  }
}

}  // namespace vkgrad::ref
