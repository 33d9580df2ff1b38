#version 450
// nonfinite_check: flags, for the current step of a replayed training (or evaluation) list, which
// of up to 6 f32 tensors hold a non-finite value (NaN or ±inf), so that the host learns where a
// NaN first appeared by reading one small tensor after a submission (lib/nonfinite.hpp).
//
//   stamp = cursor[0] + 1            the step's batch number within the epoch, 1-based
//   status[0]         first stamp at which the loss was non-finite (0: none yet)
//   status[1]         the bit pattern of that loss value
//   status[2 + s]     the last stamp at which tensor slot s held a non-finite value
// Tensor z of this dispatch is slot first_slot + z. While status[0] is 0 or equal to this stamp,
// a tensor holding a non-finite value sets status[2 + slot] = max(status[2 + slot], stamp); once
// an earlier step froze status[0], nothing changes any more, so the slots keep the values of the
// first bad step. Tensor z == loss_binding is the loss (1 element): if it is non-finite and
// status[0] is 0, status[0] = stamp and status[1] = its bits.
// A value is non-finite when its 8 exponent bits are all ones: tested on the raw bits, so no float
// optimisation of the compiler can hide a NaN.
//
// Bindings (set 0): 0..5 t0..t5: f32 tensors read as raw 32-bit words (in the _texel build through
//                   their texel views; unused bindings repeat t0, with 0 elements); 6 status: i32, read/written with atomics; 7 cursor: 1 i32, read.
// Push constants:   n0..n5 (elements of each tensor), first_slot, loss_binding (>= 6: no loss here).
// Specialization:   0 local size x.
// Dispatch (groups, 1, tensors): workgroup z scans tensor z, grid-stride over the x workgroups
// (the launcher gives each invocation about 16 elements). No shared memory and no barrier: an
// invocation that meets a non-finite value updates the status itself with atomics (only in a
// failing step do many do so), which keeps the common, all-finite case a plain streaming read.

#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
#include "texel_io.glsl"

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;

layout(push_constant) uniform Push {
    uint n0, n1, n2, n3, n4, n5;
    uint first_slot;
    uint loss_binding;
} pc;

#if VKGRAD_TEXEL
// The _texel build (CPU devices, texel_io.glsl): the tensors through their RGBA32F texel views, 4
// values per fetch, still tested on their bits (floatBitsToUint of the fetched value: a 32-bit
// float fetch keeps the exponent field, so NaN and inf stay visible).
VKGRAD_INPUT(0, t0)
VKGRAD_INPUT(1, t1)
VKGRAD_INPUT(2, t2)
VKGRAD_INPUT(3, t3)
VKGRAD_INPUT(4, t4)
VKGRAD_INPUT(5, t5)
#define WORD(T, I) floatBitsToUint(T##_load(I))
// Scans this invocation's grid-stride share of tensor T (N elements) in groups of 4, then its
// share of the last N % 4: the largest exponent field seen (all ones = some value was non-finite).
#define SCAN(T, N)                                                                            \
    for (uint q = start; q < N / 4u; q += stride) {                                           \
        const uvec4 e = floatBitsToUint(T##_load4(q)) & 0x7f800000u;                         \
        exponents = max(exponents, max(max(e.x, e.y), max(e.z, e.w)));                       \
    }                                                                                         \
    for (uint i = N / 4u * 4u + start; i < N; i += stride) exponents = max(exponents, WORD(T, i) & 0x7f800000u);
#else
layout(set = 0, binding = 0) readonly buffer T0 { uint t0[]; };
layout(set = 0, binding = 1) readonly buffer T1 { uint t1[]; };
layout(set = 0, binding = 2) readonly buffer T2 { uint t2[]; };
layout(set = 0, binding = 3) readonly buffer T3 { uint t3[]; };
layout(set = 0, binding = 4) readonly buffer T4 { uint t4[]; };
layout(set = 0, binding = 5) readonly buffer T5 { uint t5[]; };
#define WORD(T, I) T[I]
// Scans this invocation's grid-stride share of tensor T (N elements): the largest exponent field
// seen, branch-free (all ones = some value was non-finite).
#define SCAN(T, N) for (uint i = start; i < N; i += stride) exponents = max(exponents, T[i] & 0x7f800000u);
#endif
layout(set = 0, binding = 6) buffer Status { int status[]; };
layout(set = 0, binding = 7) readonly buffer Cursor { int cursor[]; };

void main() {
    const uint z = gl_WorkGroupID.z;
    const uint start = gl_GlobalInvocationID.x;
    const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    uint exponents = 0u;
    switch (z) {
        case 0u: SCAN(t0, pc.n0) break;
        case 1u: SCAN(t1, pc.n1) break;
        case 2u: SCAN(t2, pc.n2) break;
        case 3u: SCAN(t3, pc.n3) break;
        case 4u: SCAN(t4, pc.n4) break;
        default: SCAN(t5, pc.n5) break;
    }
    if (exponents != 0x7f800000u) return;

    const int stamp = cursor[0] + 1;
    const int frozen = atomicOr(status[0], 0);  // an atomic read: the loss's workgroup may write it
    if (frozen != 0 && frozen != stamp) return;
    if (z == pc.loss_binding) {  // 1 element: only invocation 0 of workgroup 0 gets here
        uint bits = 0u;
        switch (z) {
            case 0u: bits = WORD(t0, 0u); break;
            case 1u: bits = WORD(t1, 0u); break;
            case 2u: bits = WORD(t2, 0u); break;
            case 3u: bits = WORD(t3, 0u); break;
            case 4u: bits = WORD(t4, 0u); break;
            default: bits = WORD(t5, 0u); break;
        }
        if (atomicCompSwap(status[0], 0, stamp) == 0) atomicExchange(status[1], int(bits));
    }
    atomicMax(status[2 + int(pc.first_slot + z)], stamp);
}
