// binary_operands.glsl: how binary_forward.comp and binary_backward.comp read their operands a and b
// (declared with VKGRAD_INPUT before this file is included, with a push constant block pc holding
// cols and a specialization constant BROADCAST): BROADCAST 1 reads b as a row vector of pc.cols
// elements, b[i % cols], BROADCAST 2 reads a so; 0 reads both elementwise.

float load_a(uint i) { return a_load(BROADCAST == 2u ? i % pc.cols : i); }
float load_b(uint i) { return b_load(BROADCAST == 1u ? i % pc.cols : i); }

// Elements 4q .. 4q + 3 of an operand: one vec4 load unless it is the broadcast row.
vec4 load_a4(uint q) {
    if (BROADCAST != 2u) return a_load4(q);
    return vec4(load_a(4u * q), load_a(4u * q + 1u), load_a(4u * q + 2u), load_a(4u * q + 3u));
}
vec4 load_b4(uint q) {
    if (BROADCAST != 1u) return b_load4(q);
    return vec4(load_b(4u * q), load_b(4u * q + 1u), load_b(4u * q + 2u), load_b(4u * q + 3u));
}
