#version 450
// Shared arrays sized by specialization constants, which the build's shared-array check
// (cmake/spirv_shared_check.cpp) must reject, each naming the variable and the constant:
//   by_local_size  gl_WorkGroupSize.x (local_size_x_id)
//   by_expression  an expression of a constant_id
//   nested         the inner length of a two-dimensional array
//   in_struct      an array member of a struct
layout(local_size_x = 64, local_size_x_id = 0) in;
layout(constant_id = 1) const uint TILE = 16;

struct Rows {
    float values[TILE];
};

shared float by_local_size[gl_WorkGroupSize.x];
shared float by_expression[TILE * 2u + 1u];
shared float nested[4][TILE];
shared Rows in_struct[2];

layout(set = 0, binding = 0) buffer Out { float result[]; };

void main() {
    const uint t = gl_LocalInvocationID.x;
    by_local_size[t] = float(t);
    by_expression[t % (TILE * 2u + 1u)] = float(t);
    nested[t % 4u][t % TILE] = float(t);
    in_struct[t % 2u].values[t % TILE] = float(t);
    barrier();
    result[t] = by_local_size[t] + by_expression[t % TILE] + nested[0][t % TILE] + in_struct[1].values[t % TILE];
}
