#version 450
#extension GL_GOOGLE_include_directive : require
// reduce_all: out[g] = scale * (the reduction of the elements of x assigned to workgroup g), with
// OP 0 sum, 1 sum of squares, 2 max (NaN propagates, as torch.max). Workgroup g, invocation t
// takes x[(k G + g) L + t] for k = 0, 1, ... (G groups of L invocations), sums with Kahan
// compensation, then the workgroup combines its partial results in a fixed tree. Run twice — n
// elements into G partials, then the G partials into 1 with one workgroup (OP 1 becomes 0 there) —
// for a deterministic total: the assignment depends only on n, G and L, never on timing. No atomics.
//
// Bindings (set 0): 0 x: n floats, read; 1 out: (number of workgroups) floats, written.
// Push constants:   n, scale (applied to each workgroup's result).
// Specialization:   0 local size x; 1 OP (0 sum, 1 sum of squares, 2 max).

#include "math.glsl"

layout(local_size_x = 256, local_size_x_id = 0) in;
layout(constant_id = 1) const uint OP = 0;

layout(push_constant) uniform Push { uint n; float scale; } pc;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Out { float partial_out[]; };

#include "reduce_workgroup.glsl"

void main() {
    uint t = gl_LocalInvocationID.x;
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    float result;
    if (OP == 2u) {
        float m = -math_inf();
        for (uint i = gl_GlobalInvocationID.x; i < pc.n; i += stride) m = max_propagate_nan(m, x[i]);
        result = workgroup_max(m);
    } else {
        // precise: keeps the compiler from simplifying the Kahan compensation (next - sum) - term to 0.
        precise float sum = 0.0, compensation = 0.0;
        for (uint i = gl_GlobalInvocationID.x; i < pc.n; i += stride) {
            float term = (OP == 1u ? x[i] * x[i] : x[i]) - compensation;
            float next = sum + term;
            compensation = isinf(next) ? 0.0 : (next - sum) - term;  // inf - inf would poison the sum
            sum = next;
        }
        result = workgroup_sum(sum);
    }
    if (t == 0u) partial_out[gl_WorkGroupID.x] = result * pc.scale;
}
