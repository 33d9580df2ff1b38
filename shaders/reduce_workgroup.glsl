// reduce_workgroup.glsl — deterministic workgroup-wide reductions through shared memory, shared by
// the softmax and loss shaders. Include it after the `layout(local_size_x_id = 0) in;` line (it sizes
// its scratch with gl_WorkGroupSize). Every invocation of the workgroup must call these functions in
// uniform control flow; each returns the same value to every invocation.
//
// The fold order is fixed (upper half onto lower half, any local size), so results are bitwise
// reproducible run to run. No subgroup operations: portable to every device.

#ifndef VKGRAD_REDUCE_WORKGROUP_GLSL
#define VKGRAD_REDUCE_WORKGROUP_GLSL

shared float reduce_scratch[gl_WorkGroupSize.x];

// max that propagates NaN (GLSL's max() is undefined for NaN operands).
float max_propagate_nan(float a, float b) { return (isnan(a) || a >= b) ? a : b; }

float workgroup_sum(float v) {
    uint t = gl_LocalInvocationID.x;
    reduce_scratch[t] = v;
    barrier();
    for (uint count = gl_WorkGroupSize.x; count > 1u;) {
        uint upper = (count + 1u) / 2u;
        if (t + upper < count) reduce_scratch[t] += reduce_scratch[t + upper];
        barrier();
        count = upper;
    }
    float result = reduce_scratch[0];
    barrier();  // the scratch may be reused by the next call
    return result;
}

float workgroup_max(float v) {
    uint t = gl_LocalInvocationID.x;
    reduce_scratch[t] = v;
    barrier();
    for (uint count = gl_WorkGroupSize.x; count > 1u;) {
        uint upper = (count + 1u) / 2u;
        if (t + upper < count) reduce_scratch[t] = max_propagate_nan(reduce_scratch[t], reduce_scratch[t + upper]);
        barrier();
        count = upper;
    }
    float result = reduce_scratch[0];
    barrier();
    return result;
}

#endif  // VKGRAD_REDUCE_WORKGROUP_GLSL
