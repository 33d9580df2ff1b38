// for_each_reduction_layout: runs a test body once per row-reduction layout (RowReductions), each on
// a context of its own (ScopedContext), so that BatchNorm, cross-entropy, softmax and the row
// reductions are checked in both layouts whatever the kernel set would pick.
#pragma once

#include <catch2/catch.hpp>

#include "harness.hpp"

namespace vkgrad::test {

template <class F>
void for_each_reduction_layout(F&& body) {
  for (const auto layout : {RowReductions::workgroup, RowReductions::per_invocation}) {
    INFO(to_string(layout) << " reduction layout");
    ScopedContext scoped([layout](ContextOptions& o) { o.row_reductions = layout; });
    body();
  }
}

}  // namespace vkgrad::test
