#version 450
#extension GL_GOOGLE_include_directive : require
// reduce_sum: out[g] = scale * sum of the elements of x assigned to workgroup g. Workgroup g,
// invocation t sums x[(k G + g) L + t] for k = 0, 1, ... (G groups of L invocations) with Kahan
// compensation, then the workgroup adds its partial sums in a fixed tree. Run twice — n elements
// into G partials, then G partials into 1 with one workgroup — for a deterministic total: the
// assignment depends only on n, G and L, never on timing. No atomics.
//
// Bindings (set 0): 0 x: n floats, read; 1 out: (number of workgroups) floats, written.
// Push constants:   n, scale.
// Specialization:   0 local size x.

#include "math.glsl"

layout(local_size_x = 256, local_size_x_id = 0) in;

layout(push_constant) uniform Push { uint n; float scale; } pc;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Out { float partial_out[]; };

#include "reduce_workgroup.glsl"

void main() {
    uint t = gl_LocalInvocationID.x;
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    float sum = 0.0, compensation = 0.0;
    for (uint i = gl_GlobalInvocationID.x; i < pc.n; i += stride) {
        float term = x[i] - compensation;
        float next = sum + term;
        compensation = isinf(next) ? 0.0 : (next - sum) - term;  // inf - inf would poison the sum
        sum = next;
    }
    sum = workgroup_sum(sum);
    if (t == 0u) partial_out[gl_WorkGroupID.x] = sum * pc.scale;
}
