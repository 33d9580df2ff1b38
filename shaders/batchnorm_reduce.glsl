// batchnorm_reduce.glsl — the per-channel column reduction shared by batchnorm_forward.comp and
// batchnorm_backward.comp. The workgroup is TX x TY threads: x along channels (consecutive threads
// read consecutive floats of a row, so loads are coalesced), y along rows. Each thread sums rows
// ty, ty + TY, ... of its channel with Kahan compensation; fold_rows then adds the TY partial sums of
// every channel in a fixed tree, so the result is deterministic for a given local size.
#ifndef VKGRAD_BATCHNORM_REDUCE_GLSL
#define VKGRAD_BATCHNORM_REDUCE_GLSL

#include "shared_sizes.h"

// One element per invocation: TX·TY is at most VKGRAD_MAX_LOCAL_SIZE (lib/batchnorm.cpp, tile).
shared float fold_a[VKGRAD_MAX_LOCAL_SIZE];
shared float fold_b[VKGRAD_MAX_LOCAL_SIZE];

// Kahan step: sum += term, carrying the lost low-order part in compensation. `precise` stops the
// compiler from simplifying (next - sum) - term to 0. Once the sum overflows to ±inf the compensation
// would be inf - inf = NaN; it is reset instead, so the sum stays ±inf as a plain sum would (NaN
// terms still give NaN).
void kahan_add(inout precise float sum, inout precise float compensation, float term) {
    precise float y = term - compensation;
    precise float next = sum + y;
    compensation = isinf(next) ? 0.0 : (next - sum) - y;
    sum = next;
}

// Replaces a and b by the totals over the TY threads of this thread's channel column. Every thread
// of the workgroup must call it (it contains barriers).
void fold_rows(inout float a, inout float b) {
    uint tx = gl_LocalInvocationID.x;
    uint ty = gl_LocalInvocationID.y;
    uint idx = ty * gl_WorkGroupSize.x + tx;
    fold_a[idx] = a;
    fold_b[idx] = b;
    barrier();
    // Fold the upper half of the `count` live rows onto the lower half until one is left; any TY
    // works (an odd count leaves its middle row in place).
    for (uint count = gl_WorkGroupSize.y; count > 1u;) {
        uint upper = (count + 1u) / 2u;
        if (ty + upper < count) {
            fold_a[idx] += fold_a[idx + upper * gl_WorkGroupSize.x];
            fold_b[idx] += fold_b[idx + upper * gl_WorkGroupSize.x];
        }
        barrier();
        count = upper;
    }
    a = fold_a[tx];
    b = fold_b[tx];
    barrier();  // everyone has read row 0 before the next call overwrites it
}

#endif
