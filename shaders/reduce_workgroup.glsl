// reduce_workgroup.glsl — deterministic workgroup-wide reductions through shared memory, shared by
// the softmax and loss shaders. Include it after the shader's local-size layout line; the local
// size must be at most VKGRAD_MAX_LOCAL_SIZE (shared_sizes.h), the capacity of its scratch.
// Every invocation of the workgroup must call these functions in uniform control flow; each returns
// the same value to every invocation.
//
// Portable path: a shared-memory tree whose fold order is fixed (upper half onto lower half, any
// local size), so results are bitwise reproducible run to run.
//
// Subgroup path (VKGRAD_SUBGROUP defined: the build compiles every shader that includes this file a
// second time as <name>_subgroup, used on devices with subgroup arithmetic in compute shaders): each
// subgroup reduces with subgroupAdd / subgroupMax, then every invocation folds the per-subgroup
// results in subgroup order. One barrier instead of log2(local size); still reproducible on a given
// device. subgroupMax leaves NaN undefined, so NaN is detected separately and returned explicitly.

#ifndef VKGRAD_REDUCE_WORKGROUP_GLSL
#define VKGRAD_REDUCE_WORKGROUP_GLSL

#include "math.glsl"  // max_propagate_nan
#include "shared_sizes.h"

// One element per invocation: the local size is at most VKGRAD_MAX_LOCAL_SIZE (a literal, so the
// array is not sized by a specialization constant).
shared float reduce_scratch[VKGRAD_MAX_LOCAL_SIZE];

#ifdef VKGRAD_SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require

float workgroup_sum(float v) {
    const float s = subgroupAdd(v);
    if (subgroupElect()) reduce_scratch[gl_SubgroupID] = s;
    barrier();
    float total = reduce_scratch[0];
    for (uint i = 1u; i < gl_NumSubgroups; ++i) total += reduce_scratch[i];
    barrier();  // the scratch may be reused by the next call
    return total;
}

float workgroup_max(float v) {
    // NaN wins: flag it through an integer max, take the max of the rest.
    const uint has_nan = subgroupMax(isnan(v) ? 1u : 0u);
    float m = subgroupMax(isnan(v) ? uintBitsToFloat(0xff800000u) : v);
    if (has_nan != 0u) m = uintBitsToFloat(0x7fc00000u);
    if (subgroupElect()) reduce_scratch[gl_SubgroupID] = m;
    barrier();
    float result = reduce_scratch[0];
    for (uint i = 1u; i < gl_NumSubgroups; ++i) result = max_propagate_nan(result, reduce_scratch[i]);
    barrier();
    return result;
}

#else

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

#endif  // VKGRAD_SUBGROUP

#endif  // VKGRAD_REDUCE_WORKGROUP_GLSL
