// batchnorm_columns.glsl — what batchnorm_forward_columns.comp and batchnorm_backward_columns.comp
// share: the per-invocation layout for CPU devices. Each invocation owns the channel quad q
// (channels 4q .. 4q + 3) and walks all rows itself, summing each channel with Kahan compensation in
// row order: no shared memory, no barriers. (On llvmpipe a workgroup runs on one CPU thread with the
// invocations as 8-wide SIMD lanes, a barrier is a coroutine switch per 8-lane group and shared
// memory is plain memory reached through per-lane gathers: batchnorm_reduce.glsl's workgroup
// layout spends most of its time there.)
// With ALIGNED (channels % 4 == 0) a quad of a row is one vec4 load / store; otherwise each of its
// channels is read alone (the channel index clamped to channels - 1, so a partial last quad stays
// inside the tensor) and only the channels < channels are stored.
// Include after texel_io.glsl and the push constant block `pc` (with pc.channels).
#ifndef VKGRAD_BATCHNORM_COLUMNS_GLSL
#define VKGRAD_BATCHNORM_COLUMNS_GLSL

layout(constant_id = 2) const bool ALIGNED = true;

// kahan_add of batchnorm_reduce.glsl on four independent sums: sum += term with the lost low-order
// part carried in compensation, the compensation reset where the sum overflowed to ±inf (inf - inf
// would be NaN), so such a sum stays ±inf and a NaN term still gives NaN.
void kahan_add4(inout precise vec4 sum, inout precise vec4 compensation, vec4 term) {
    precise vec4 y = term - compensation;
    precise vec4 next = sum + y;
    precise vec4 lost = (next - sum) - y;
    compensation = mix(lost, vec4(0.0), isinf(next));  // mix with a bvec selects: NaN-safe
    sum = next;
}

// Channel c of the quad starting at channel c0, clamped to the last channel.
uint quad_channel(uint c0, uint k) { return min(c0 + k, pc.channels - 1u); }

// After VKGRAD_INPUT(b, name): vec4 name_row(r, q), the quad's four channels of row r of a
// rows x channels tensor, and vec4 name_channels(q), those of a per-channel tensor.
#define BATCHNORM_COLUMN_INPUT(name)                                                               \
    vec4 name##_row(uint r, uint q) {                                                               \
        if (ALIGNED) return name##_load4(r * (pc.channels / 4u) + q);                               \
        const uint base = r * pc.channels;                                                          \
        return vec4(name##_load(base + quad_channel(4u * q, 0u)), name##_load(base + quad_channel(4u * q, 1u)), \
                    name##_load(base + quad_channel(4u * q, 2u)), name##_load(base + quad_channel(4u * q, 3u))); \
    }                                                                                               \
    vec4 name##_channels(uint q) { return name##_row(0u, q); }

// After VKGRAD_OUTPUT(b, name): name_store_row(r, q, v) stores v as the quad's channels of row r
// (those < channels).
#define BATCHNORM_COLUMN_OUTPUT(name)                                                              \
    void name##_store_row(uint r, uint q, vec4 v) {                                                 \
        if (ALIGNED) {                                                                              \
            name##_store4(r * (pc.channels / 4u) + q, v);                                           \
        } else {                                                                                    \
            for (uint k = 0u; k < 4u && 4u * q + k < pc.channels; ++k) name##_store(r * pc.channels + 4u * q + k, v[k]); \
        }                                                                                           \
    }

// After a plain buffer `float name[]` of `rows` rows of pc.channels values: vec4 name_quad(row, q),
// the quad's four channels of that row (clamped to the last channel).
#define BATCHNORM_CHANNEL_ROWS(name)                                                               \
    vec4 name##_quad(uint row, uint q) {                                                            \
        const uint base = row * pc.channels;                                                        \
        return vec4(name[base + quad_channel(4u * q, 0u)], name[base + quad_channel(4u * q, 1u)],   \
                    name[base + quad_channel(4u * q, 2u)], name[base + quad_channel(4u * q, 3u)]);  \
    }

#endif
