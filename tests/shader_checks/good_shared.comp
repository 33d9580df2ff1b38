#version 450
// Shared arrays the build's shared-array check (cmake/spirv_shared_check.cpp) accepts: literal
// lengths, with the specialization constants in the index arithmetic only.
layout(local_size_x = 64, local_size_x_id = 0) in;
layout(constant_id = 1) const uint TILE = 16;

struct Rows {
    float values[32];
};

shared float by_capacity[256];
shared float nested[4][32];
shared Rows in_struct[2];

layout(set = 0, binding = 0) buffer Out { float result[]; };

void main() {
    const uint t = gl_LocalInvocationID.x;
    by_capacity[t] = float(t);
    nested[t % 4u][t % TILE] = float(t);
    in_struct[t % 2u].values[t % TILE] = float(t);
    barrier();
    result[t] = by_capacity[(t + 1u) % gl_WorkGroupSize.x] + nested[0][t % TILE] + in_struct[1].values[t % TILE];
}
