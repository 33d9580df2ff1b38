#version 450
// Literal shared arrays that together exceed the 16384 bytes of shared memory every Vulkan device
// has: the build's shared-array check (cmake/spirv_shared_check.cpp) must reject the module.
layout(local_size_x = 64) in;

shared float first[4000];
shared vec4 second[25];

layout(set = 0, binding = 0) buffer Out { float result[]; };

void main() {
    const uint t = gl_LocalInvocationID.x;
    first[t] = float(t);
    second[t % 25u] = vec4(t);
    barrier();
    result[t] = first[63u - t] + second[(t + 1u) % 25u].x;
}
