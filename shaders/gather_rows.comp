#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// gather_rows: out[b, f] = src[index[b], f] · scale + shift, for a batch of rows picked from a
// dataset that lives on the device. The source is f32, or u8 (SOURCE_U8) read as packed 32-bit
// words, so no 8-bit storage feature is needed. An index outside [0, rows) gives a row of NaN.
//
// Bindings (set 0): 0 src: rows·features elements (f32, or u8 packed 4 per word), read;
//                   1 index: batch i32, read; 2 out: batch·features f32, written.
// Push constants:   rows, features, batch, scale, shift.
// Specialization:   0 local size x, 1 SOURCE_U8, 2 QUADS (features % 4 == 0).
// Grid: x strides over groups of 4 features, y over the batch rows, so the row and its index are
// the same in a whole workgroup (no division per element; llvmpipe loads a workgroup-uniform index
// once). On CPU devices a workgroup takes up to 4 rows (fewer workgroups: each has a set-up cost). With QUADS a u8 source gives 4 features per 32-bit word, and the 4 results are stored
// together (as 64-bit words in the _texel build, texel_io.glsl: what CPU devices store fastest).

#include "texel_io.glsl"

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const bool SOURCE_U8 = false;
layout(constant_id = 2) const bool QUADS = false;

layout(push_constant) uniform Push { uint rows; uint features; uint batch; float scale; float shift; } pc;

layout(set = 0, binding = 0) readonly buffer Src { uint src[]; };
layout(set = 0, binding = 1) readonly buffer Index { int index[]; };
VKGRAD_OUTPUT(2, dst)

float source(uint e) {
    return SOURCE_U8 ? float((src[e >> 2] >> (8u * (e & 3u))) & 0xffu) : uintBitsToFloat(src[e]);
}

// Output features 4q .. 4q + 3 of batch row b (those below `features`), from the source row that
// starts at element `first` (valid: the index was in range; else NaN).
void gather_quad(uint b, uint q, uint quads, bool valid, uint first) {
    if (QUADS) {
        vec4 v;
        if (SOURCE_U8) {
            const uint word = valid ? src[first / 4u + q] : 0u;
            v = vec4(uvec4(word, word >> 8u, word >> 16u, word >> 24u) & 0xffu);
        } else {
            const uint e = first + 4u * q;
            v = valid ? vec4(source(e), source(e + 1u), source(e + 2u), source(e + 3u)) : vec4(0.0);
        }
        dst_store4(b * quads + q, valid ? v * pc.scale + pc.shift : vec4(uintBitsToFloat(0x7fc00000u)));
    } else {
        for (uint f = 4u * q; f < min(4u * q + 4u, pc.features); ++f) {
            dst_store(b * pc.features + f, valid ? source(first + f) * pc.scale + pc.shift : uintBitsToFloat(0x7fc00000u));
        }
    }
}

void main() {
    const uint quads = (pc.features + 3u) / 4u;
    const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    // do-while loops: see activation_forward.comp (llvmpipe runs a for loop's body once more, masked
    // off). On CPU devices each workgroup takes several batch rows (lib/data.cpp).
    uint b = gl_WorkGroupID.y;
    if (b >= pc.batch) return;
    do {
        const int row = index[b];
        const bool valid = row >= 0 && uint(row) < pc.rows;
        const uint first = uint(row) * pc.features;  // element of (row, 0) in src
        uint q = gl_GlobalInvocationID.x;
        if (q < quads) {
            do {
                gather_quad(b, q, quads, valid, first);
                q += stride;
            } while (q < quads);
        }
        b += gl_NumWorkGroups.y;
    } while (b < pc.batch);
}
