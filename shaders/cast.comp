#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// cast: converts n elements between f32 and f16 (IEEE 754 binary16), with half.glsl's integer
// conversions: f32 -> f16 rounds to nearest, ties to even (the bits vkgrad::to_half computes on the
// host), f16 -> f32 is exact. Only bits move: no value passes through a float register, so NaN
// payloads and subnormals come out as the host computes them on every device.
//
// Bindings (set 0): 0 src: n elements, read; 1 dst: n elements, written (an f16 dst with odd n also
//                   read: its last word's upper half, past the tensor's end, is kept, not overwritten).
// Push constants:   n.
// Specialization:   0 local size x (default 256), 1 TO_HALF (true: f32 -> f16; false: f16 -> f32).
// Any grid size works (grid-stride loop). Each invocation converts steps of 8 adjacent elements
// (32 bytes of f32, 16 of f16), then the tail (n % 8 elements) goes one 32-bit word at a time.
// The _texel build (CPU devices: texel_io.glsl says why) reads src through its R32G32B32A32_UINT
// view, 16 bytes per fetch whatever the dtype, and writes each step in one 64-bit-word store.

#include "texel_io.glsl"
#include "half.glsl"

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const bool TO_HALF = true;

layout(push_constant) uniform Push { uint n; } pc;

layout(set = 0, binding = 1) buffer DstWords { uint dst_words[]; };
#if VKGRAD_TEXEL
layout(set = 0, binding = 0) uniform usamplerBuffer src_texels;
uint src_word(uint i) { return texelFetch(src_texels, int(i >> 2u))[i & 3u]; }
uvec4 src_quad(uint q) { return texelFetch(src_texels, int(q)); }  // words 4q .. 4q + 3
layout(set = 0, binding = 1) writeonly buffer DstHalfSteps { u64vec2 dst_half_steps[]; };
layout(set = 0, binding = 1) writeonly buffer DstFloatSteps { u64vec4 dst_float_steps[]; };
void store_half_step(uint s, uvec4 w) { dst_half_steps[s] = u64vec2(pack64(w.xy), pack64(w.zw)); }
void store_float_step(uint s, uvec4 lo, uvec4 hi) {
    dst_float_steps[s] = u64vec4(pack64(lo.xy), pack64(lo.zw), pack64(hi.xy), pack64(hi.zw));
}
#else
layout(set = 0, binding = 0) readonly buffer SrcWords { uint src_words[]; };
layout(set = 0, binding = 0) readonly buffer SrcQuads { uvec4 src_quads[]; };
uint src_word(uint i) { return src_words[i]; }
uvec4 src_quad(uint q) { return src_quads[q]; }
layout(set = 0, binding = 1) writeonly buffer DstQuads { uvec4 dst_quads[]; };
void store_half_step(uint s, uvec4 w) { dst_quads[s] = w; }
void store_float_step(uint s, uvec4 lo, uvec4 hi) {
    dst_quads[2u * s] = lo;
    dst_quads[2u * s + 1u] = hi;
}
#endif

void main() {
    const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    const uint steps = pc.n / 8u;
    for (uint s = gl_GlobalInvocationID.x; s < steps; s += stride) {
        if (TO_HALF) {
            const uvec4 lo = src_quad(2u * s), hi = src_quad(2u * s + 1u);
            store_half_step(s, uvec4(vkgrad_pack_halves(lo.xy), vkgrad_pack_halves(lo.zw), vkgrad_pack_halves(hi.xy),
                                     vkgrad_pack_halves(hi.zw)));
        } else {
            const uvec4 w = src_quad(s);
            store_float_step(s, uvec4(vkgrad_unpack_half_bits(w.x), vkgrad_unpack_half_bits(w.y)),
                             uvec4(vkgrad_unpack_half_bits(w.z), vkgrad_unpack_half_bits(w.w)));
        }
    }
    // The tail: elements 8 * steps .. n - 1, at most 7, as up to 4 words of f16.
    const uint first = 8u * steps;
    if (TO_HALF) {
        for (uint w = first / 2u + gl_GlobalInvocationID.x; 2u * w < pc.n; w += stride) {
            const uint lo = vkgrad_half_bits(src_word(2u * w));
            const uint hi = 2u * w + 1u < pc.n ? vkgrad_half_bits(src_word(2u * w + 1u)) << 16u
                                                : dst_words[w] & 0xffff0000u;
            dst_words[w] = lo | hi;
        }
    } else {
        for (uint i = first + gl_GlobalInvocationID.x; i < pc.n; i += stride) {
            dst_words[i] = vkgrad_f32_bits(vkgrad_half_of(src_word(i / 2u), i));
        }
    }
}
