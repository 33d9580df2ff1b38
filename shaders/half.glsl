// half.glsl: IEEE 754 binary16 <-> f32 in integer arithmetic, bit for bit what the host computes
// (lib/half.cpp, vkgrad::to_half / to_float): round to nearest, ties to even; NaN stays NaN (quiet,
// sign and top payload bits kept); subnormal halves are exact. Written with integer operations, not
// packHalf2x16 / unpackHalf2x16 or 16-bit types, because Vulkan leaves those conversions' rounding
// (RTE or RTZ) and subnormal handling (may flush) to the device, and so that no 16-bit storage or
// arithmetic feature is needed: f16 data lives in 32-bit words, two halves per word, the element of
// lower index in the low 16 bits (little-endian, as the host stores them).

// The 16 bits of the f32 whose bits are x, rounded to binary16. Bits in, bits out: no float value
// passes through a register where a device could flush or canonicalize it. Every case is computed
// and one is selected, without branches: on CPU devices (llvmpipe) a branch some lanes take runs
// masked for all of them, so the branchy form paid for every case anyway.
uint vkgrad_half_bits(uint x) {
    const uint sign = (x >> 16u) & 0x8000u;
    const uint a = x & 0x7fffffffu;
    const uint nan = sign | 0x7e00u | ((a >> 13u) & 0x3ffu);  // made quiet, top payload bits kept
    const uint inf = sign | 0x7c00u;
    // Normal (a >= 2^-14): rebias the exponent (127 -> 15) and drop 13 mantissa bits, ties to even;
    // a carry out of the mantissa moves to the next binade, which is the right result.
    const uint r = a - 0x38000000u;
    const uint normal = sign | ((r + 0xfffu + ((r >> 13u) & 1u)) >> 13u);
    // Subnormal (or, by carry, the smallest normal): |value| / 2^-24 rounded to an integer, ties to
    // even; |value| = m * 2^(e - 150) with the implicit bit in m, so the shift is 126 - e (14..24).
    // Below 2^-25 the shift is 25 or more (capped at 31), which rounds every m < 2^24 to 0, and
    // 2^-25 itself ties to even 0.
    const uint e = a >> 23u;
    const uint m = (a & 0x7fffffu) | 0x800000u;
    const uint shift = min(126u - min(e, 112u), 31u);
    const uint subnormal = sign | ((m + (1u << (shift - 1u)) - 1u + ((m >> shift) & 1u)) >> shift);
    return a > 0x7f800000u ? nan : a >= 0x477ff000u ? inf : a >= 0x38800000u ? normal : subnormal;
}

// The bits of the exact f32 value of the binary16 in the low 16 bits of `h` (branch-free, as
// above).
uint vkgrad_f32_bits(uint h) {
    const uint sign = (h & 0x8000u) << 16u;
    const uint e = (h >> 10u) & 0x1fu;
    const uint m = h & 0x3ffu;
    const uint special = sign | 0x7f800000u | (m << 13u);  // inf, or NaN with its payload
    const uint normal = sign | ((e + 112u) << 23u) | (m << 13u);
    // Zero or subnormal: m * 2^-24, a normal float (or 0): bit p of m (its highest) becomes the
    // implicit bit. findMSB(0) is -1; that case is selected away below.
    const uint p = uint(max(findMSB(m), 0));
    const uint subnormal = m == 0u ? sign : sign | ((p + 103u) << 23u) | ((m << (23u - p)) & 0x7fffffu);
    return e == 0x1fu ? special : e != 0u ? normal : subnormal;
}

float vkgrad_from_half(uint h) { return uintBitsToFloat(vkgrad_f32_bits(h)); }

// The 16 bits of element i of an f16 array, from the 32-bit word holding it (word i / 2).
uint vkgrad_half_of(uint word, uint i) { return (i & 1u) != 0u ? word >> 16u : word & 0xffffu; }

// Elements 2i and 2i + 1 of an f16 array from its i-th 32-bit word, and back.
vec2 vkgrad_unpack_halves(uint word) { return vec2(vkgrad_from_half(word & 0xffffu), vkgrad_from_half(word >> 16u)); }
uint vkgrad_pack_halves(uvec2 f32_bits) { return vkgrad_half_bits(f32_bits.x) | (vkgrad_half_bits(f32_bits.y) << 16u); }
uvec2 vkgrad_unpack_half_bits(uint word) { return uvec2(vkgrad_f32_bits(word & 0xffffu), vkgrad_f32_bits(word >> 16u)); }
