// The test application's own compute work (tests/interop_test.cpp): data[offset + i] =
// float(i % 17) * scale + bias for i < count, values exact in f32 so the host can check them.
// Binding 0: the application's buffer (f32). Push constants: offset, count (elements), scale, bias.
#version 450
layout(local_size_x = 64) in;
layout(std430, binding = 0) buffer Data { float data[]; };
layout(push_constant) uniform Push {
  uint offset;
  uint count;
  float scale;
  float bias;
};

void main() {
  for (uint i = gl_GlobalInvocationID.x; i < count; i += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
    data[offset + i] = float(i % 17u) * scale + bias;
  }
}
