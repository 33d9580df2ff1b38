// philox.glsl — Philox4x32-10, the counter-based generator of Salmon et al., "Parallel random
// numbers: as easy as 1, 2, 3" (SC'11), as in Random123's philox4x32 with R = 10 rounds. A pure
// function of (counter, key): any thread can produce any element's random bits, so a result never
// depends on workgroup size or dispatch order. Bit-identical to the C++ reference
// tests/reference/philox_ref.cpp, which is checked against Random123's known-answer vectors.
#ifndef VKGRAD_PHILOX_GLSL
#define VKGRAD_PHILOX_GLSL

const uint PHILOX_M0 = 0xD2511F53u;  // round multipliers
const uint PHILOX_M1 = 0xCD9E8D57u;
const uint PHILOX_W0 = 0x9E3779B9u;  // key schedule (Weyl) increments: golden ratio, sqrt(3) - 1
const uint PHILOX_W1 = 0xBB67AE85u;

uvec4 philox4x32_round(uvec4 ctr, uvec2 key) {
    uint hi0, lo0, hi1, lo1;
    umulExtended(PHILOX_M0, ctr.x, hi0, lo0);
    umulExtended(PHILOX_M1, ctr.z, hi1, lo1);
    return uvec4(hi1 ^ ctr.y ^ key.x, lo1, hi0 ^ ctr.w ^ key.y, lo0);
}

// 10 rounds; the key is bumped between rounds (9 bumps), as Random123 does.
uvec4 philox4x32_10(uvec4 ctr, uvec2 key) {
    ctr = philox4x32_round(ctr, key);
    for (int r = 1; r < 10; ++r) {
        key += uvec2(PHILOX_W0, PHILOX_W1);
        ctr = philox4x32_round(ctr, key);
    }
    return ctr;
}

#endif
