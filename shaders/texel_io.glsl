// texel_io.glsl: how a shader reads its f32 inputs and writes its f32 outputs, in two builds.
//
// Plain build: storage buffers, viewed as floats and as vec4s.
// VKGRAD_TEXEL build (<name>_texel, cmake/VkgradShaders.cmake): each input is a uniform texel buffer
// over the tensor's R32G32B32A32_SFLOAT view and each output is written as pairs of 64-bit words.
// Why: llvmpipe compiles every storage-buffer access into a loop over the SIMD lanes with a branch
// and a bounds check per lane and per 32-bit component, while a texel fetch becomes one vector
// gather per component and a 64-bit store halves the lanes × components loop, several times faster
// for memory-bound shaders there. The values are the same bits either way.
// The host binds a tensor as a texel input only when its buffer is a whole number of 16-byte
// groups (lib/memory.cpp pads it), so the last, partial group of an input is readable; padding
// components are never stored.
//
// Include this file first (it may enable an extension), then declare bindings with
//   VKGRAD_INPUT(binding, name)   -> vec4 name_load4(uint q)  (elements 4q .. 4q + 3)
//                                   float name_load(uint i)
//   VKGRAD_OUTPUT(binding, name)  -> void name_store4(uint q, vec4 v), void name_store(uint i, float v),
//                                   void name_store_step(uint s, vec4 v[VKGRAD_STEP_GROUPS])
// and, where a shader needs it, VKGRAD_TEXEL is 1 in the texel build and 0 otherwise.
//
// Elementwise shaders take VKGRAD_STEP_GROUPS adjacent groups of 4 elements per invocation and
// loop step (groups s * VKGRAD_STEP_GROUPS + g) and write them with name_store_step: 2 groups in
// the texel build, stored as one 32-byte vector per lane, 1 group elsewhere. Why 2 on CPU devices:
// llvmpipe's store loop pays a trip per lane and store instruction plus a branch per component,
// so one 4-component store of 64-bit words per 8 elements instead of a 2-component one per 4
// halves its trips per element. GPUs keep one vec4 per invocation, what their coalescing is tuned
// for.

#ifndef VKGRAD_TEXEL
#define VKGRAD_TEXEL 0
#endif
#ifndef VKGRAD_F16_INPUTS
#define VKGRAD_F16_INPUTS 0
#endif

#if VKGRAD_TEXEL
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require

#define VKGRAD_STEP_GROUPS 2u

#define VKGRAD_INPUT(B, NAME)                                                                        \
    layout(set = 0, binding = B) uniform samplerBuffer NAME##_texels;                                \
    vec4 NAME##_load4(uint q) { return texelFetch(NAME##_texels, int(q)); }                        \
    float NAME##_load(uint i) { return texelFetch(NAME##_texels, int(i >> 2u))[i & 3u]; }

#define VKGRAD_OUTPUT(B, NAME)                                                                       \
    layout(set = 0, binding = B) writeonly buffer NAME##_Words { u64vec2 NAME##_words[]; };         \
    layout(set = 0, binding = B) writeonly buffer NAME##_Floats { float NAME##_floats[]; };         \
    layout(set = 0, binding = B) writeonly buffer NAME##_Steps { u64vec4 NAME##_steps[]; };         \
    void NAME##_store4(uint q, vec4 v) {                                                             \
        NAME##_words[q] = u64vec2(pack64(floatBitsToUint(v.xy)), pack64(floatBitsToUint(v.zw)));   \
    }                                                                                                \
    void NAME##_store_step(uint s, vec4 v[VKGRAD_STEP_GROUPS]) {                                     \
        NAME##_steps[s] = u64vec4(pack64(floatBitsToUint(v[0].xy)), pack64(floatBitsToUint(v[0].zw)), \
                                  pack64(floatBitsToUint(v[1].xy)), pack64(floatBitsToUint(v[1].zw))); \
    }                                                                                                \
    void NAME##_store(uint i, float v) { NAME##_floats[i] = v; }

#else

#define VKGRAD_STEP_GROUPS 1u

#if VKGRAD_F16_INPUTS
// The _f16 build (gemm's f16 inputs on the storage-buffer path): input binding B holds binary16
// values, two per 32-bit word, converted exactly by half.glsl, where bit B of the specialization
// constant VKGRAD_F16_MASK (spec_ids.h) is set, else f32 as in the plain build; the test folds away at
// pipeline creation. (The texel build needs no variant: the host binds an f16 tensor's
// R16G16B16A16_SFLOAT view, and the texel fetch converts.)
#include "half.glsl"
#include "spec_ids.h"
layout(constant_id = VKGRAD_SPEC_F16_MASK) const uint VKGRAD_F16_MASK = 0xffffffffu;
#define VKGRAD_INPUT(B, NAME)                                                                        \
    layout(set = 0, binding = B) readonly buffer NAME##_Floats { float NAME##_floats[]; };          \
    layout(set = 0, binding = B) readonly buffer NAME##_Quads { vec4 NAME##_quads[]; };             \
    layout(set = 0, binding = B) readonly buffer NAME##_Words { uint NAME##_words[]; };             \
    layout(set = 0, binding = B) readonly buffer NAME##_HalfQuads { uvec2 NAME##_half_quads[]; };   \
    vec4 NAME##_load4(uint q) {                                                                      \
        if (((VKGRAD_F16_MASK >> B) & 1u) == 0u) return NAME##_quads[q];                            \
        const uvec2 w = NAME##_half_quads[q];                                                        \
        return vec4(vkgrad_unpack_halves(w.x), vkgrad_unpack_halves(w.y));                           \
    }                                                                                                \
    float NAME##_load(uint i) {                                                                      \
        if (((VKGRAD_F16_MASK >> B) & 1u) == 0u) return NAME##_floats[i];                           \
        return vkgrad_from_half(vkgrad_half_of(NAME##_words[i >> 1u], i));                           \
    }
#else
#define VKGRAD_INPUT(B, NAME)                                                                        \
    layout(set = 0, binding = B) readonly buffer NAME##_Floats { float NAME##_floats[]; };          \
    layout(set = 0, binding = B) readonly buffer NAME##_Quads { vec4 NAME##_quads[]; };             \
    vec4 NAME##_load4(uint q) { return NAME##_quads[q]; }                                            \
    float NAME##_load(uint i) { return NAME##_floats[i]; }
#endif

#define VKGRAD_OUTPUT(B, NAME)                                                                       \
    layout(set = 0, binding = B) writeonly buffer NAME##_Floats { float NAME##_floats[]; };         \
    layout(set = 0, binding = B) writeonly buffer NAME##_Quads { vec4 NAME##_quads[]; };            \
    void NAME##_store4(uint q, vec4 v) { NAME##_quads[q] = v; }                                      \
    void NAME##_store_step(uint s, vec4 v[VKGRAD_STEP_GROUPS]) { NAME##_quads[s] = v[0]; }           \
    void NAME##_store(uint i, float v) { NAME##_floats[i] = v; }

#endif
