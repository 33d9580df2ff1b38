#version 450
// gather_rows: out[b, f] = src[index[b], f] · scale + shift, for a batch of rows picked from a
// dataset that lives on the device. The source is f32, or u8 (SOURCE_U8) read as packed 32-bit
// words, so no 8-bit storage feature is needed. An index outside [0, rows) gives a row of NaN.
//
// Bindings (set 0): 0 src: rows·features elements (f32, or u8 packed 4 per word), read;
//                   1 index: batch i32, read; 2 out: batch·features f32, written.
// Push constants:   rows, features, batch, scale, shift.
// Specialization:   0 local size x, 1 SOURCE_U8.
// Grid-stride over batch·features output elements.

layout(local_size_x = 256, local_size_x_id = 0) in;
layout(constant_id = 1) const bool SOURCE_U8 = false;

layout(push_constant) uniform Push { uint rows; uint features; uint batch; float scale; float shift; } pc;

layout(set = 0, binding = 0) readonly buffer Src { uint src[]; };
layout(set = 0, binding = 1) readonly buffer Index { int index[]; };
layout(set = 0, binding = 2) writeonly buffer Out { float out_[]; };

void main() {
    const uint n = pc.batch * pc.features;
    for (uint i = gl_GlobalInvocationID.x; i < n; i += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
        const uint b = i / pc.features, f = i % pc.features;
        const int row = index[b];
        if (row < 0 || uint(row) >= pc.rows) {
            out_[i] = uintBitsToFloat(0x7fc00000u);
            continue;
        }
        const uint e = uint(row) * pc.features + f;
        float v;
        if (SOURCE_U8) {
            v = float((src[e >> 2] >> (8u * (e & 3u))) & 0xffu);
        } else {
            v = uintBitsToFloat(src[e]);
        }
        out_[i] = v * pc.scale + pc.shift;
    }
}
