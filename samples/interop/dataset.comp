// The sample application's own compute shader (samples/interop/main.cpp): a procedural dataset of
// `count` points, uniform in [-1, 1]², labelled 1 inside the circle of radius sqrt(0.5) and 0
// outside. Binding 0: features (count × 2, f32); binding 1: labels (count, i32). Push constants:
// count, seed.
#version 450
layout(local_size_x = 64) in;
layout(std430, binding = 0) writeonly buffer Features { vec2 features[]; };
layout(std430, binding = 1) writeonly buffer Labels { int labels[]; };
layout(push_constant) uniform Push {
  uint count;
  uint seed;
};

// A 32-bit integer hash (lowbias32), turned into a float in [-1, 1).
uint hash(uint x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}
float uniform_pm1(uint x) { return float(hash(x) >> 8) * (2.0 / 16777216.0) - 1.0; }

void main() {
  for (uint i = gl_GlobalInvocationID.x; i < count; i += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
    const vec2 p = vec2(uniform_pm1(2u * i + seed), uniform_pm1(2u * i + 1u + seed * 7919u));
    features[i] = p;
    labels[i] = dot(p, p) < 0.5 ? 1 : 0;
  }
}
