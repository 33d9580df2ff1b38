#version 450
// penalty_accumulate: adds the gradient of a weight or activity penalty to a gradient, in place:
//   KIND 0 (L1): grad[i] += lambda·sign(w[i])   (sign(±0) = 0, sign(NaN) = NaN so NaN propagates)
//   KIND 1 (L2): grad[i] += lambda·w[i]         (the gradient of (lambda/2)·Σ w²)
// For the L1 activity penalty w is the activation y and grad its gradient dy.
//
// Bindings (set 0): 0 w: n floats, read; 1 grad: n floats, read/written.
// Push constants:   n, lambda.
// Specialization:   0 local size x (default 256), 1 KIND.
// Any grid size works (grid-stride loop).

layout(local_size_x = 256, local_size_x_id = 0) in;
layout(constant_id = 1) const uint KIND = 0;

layout(push_constant) uniform Push { uint n; float lambda; } pc;

layout(set = 0, binding = 0) readonly buffer W { float w[]; };
layout(set = 0, binding = 1) buffer Grad { float grad[]; };

// GLSL's sign() leaves NaN unspecified.
float sign_or_nan(float v) { return isnan(v) ? v : (v > 0.0 ? 1.0 : (v < 0.0 ? -1.0 : 0.0)); }

void main() {
    for (uint i = gl_GlobalInvocationID.x; i < pc.n; i += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
        float v = w[i];
        grad[i] += pc.lambda * (KIND == 0u ? sign_or_nan(v) : v);
    }
}
