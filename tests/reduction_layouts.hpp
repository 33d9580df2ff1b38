// for_each_reduction_layout: runs a test body once per ReductionLayout (lib/reduction_layout.hpp),
// so that BatchNorm, cross-entropy, softmax and the row reductions are checked in both layouts on
// any device (the default is the per-invocation layout on CPU devices and the workgroup layout on
// GPUs).
#pragma once

#include <catch2/catch.hpp>

#include "reduction_layout.hpp"

namespace vkgrad::test {

template <class F>
void for_each_reduction_layout(F&& body) {
  for (const auto layout : {detail::ReductionLayout::workgroup, detail::ReductionLayout::invocation}) {
    detail::set_reduction_layout(layout);
    INFO((layout == detail::ReductionLayout::workgroup ? "workgroup" : "invocation") << " reduction layout");
    try {
      body();
    } catch (...) {
      detail::set_reduction_layout(detail::ReductionLayout::automatic);
      throw;
    }
    detail::set_reduction_layout(detail::ReductionLayout::automatic);
  }
}

}  // namespace vkgrad::test
