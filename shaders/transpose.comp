#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
#include "spec_ids.h"
// transpose: y[c, r] = x[r, c] for a row-major x (rows, cols) and y (cols, rows). A copy: the same
// bits.
//
// TILED (the GPU kernel set): each workgroup moves TILE × TILE blocks (TILE = VKGRAD_TRANSPOSE_TILE,
// shared_sizes.h) through shared memory, reading rows of x and writing rows of y, so that
// neighbouring invocations touch neighbouring addresses on both sides. Any local size works (each
// invocation takes every local_size-th element of the tile); the workgroups loop over the tiles in
// strides of the grid, with the bounds the same for the whole workgroup, so the barriers stay in
// uniform control flow.
// Otherwise (the CPU kernel set: no shared memory, no barriers) one element of y per invocation and
// grid-stride step; neighbouring invocations write neighbouring addresses.
//
// Bindings (set 0): 0 x: rows · cols floats, read; 1 y: cols · rows floats, written.
// Push constants:   rows, cols.
// Specialization:   0 local size x; 1 TILED.

#include "texel_io.glsl"
#include "shared_sizes.h"

layout(local_size_x = 256, local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;
layout(constant_id = 1) const bool TILED = false;

layout(push_constant) uniform Push { uint rows; uint cols; } pc;

VKGRAD_INPUT(0, x)
VKGRAD_OUTPUT(1, y)

const uint TILE = VKGRAD_TRANSPOSE_TILE;
shared float tile[VKGRAD_TRANSPOSE_TILE][VKGRAD_TRANSPOSE_TILE + 1];

void transpose_tiles() {
    const uint tile_rows = (pc.rows + TILE - 1u) / TILE, tile_cols = (pc.cols + TILE - 1u) / TILE;
    const uint tiles = tile_rows * tile_cols;
    for (uint t = gl_WorkGroupID.x; t < tiles; t += gl_NumWorkGroups.x) {
        const uint r0 = (t / tile_cols) * TILE, c0 = (t % tile_cols) * TILE;
        for (uint e = gl_LocalInvocationID.x; e < TILE * TILE; e += gl_WorkGroupSize.x) {
            const uint r = r0 + e / TILE, c = c0 + e % TILE;
            if (r < pc.rows && c < pc.cols) tile[e / TILE][e % TILE] = x_load(r * pc.cols + c);
        }
        barrier();
        for (uint e = gl_LocalInvocationID.x; e < TILE * TILE; e += gl_WorkGroupSize.x) {
            const uint c = c0 + e / TILE, r = r0 + e % TILE;
            if (r < pc.rows && c < pc.cols) y_store(c * pc.rows + r, tile[e % TILE][e / TILE]);
        }
        barrier();  // the tile is read before the next one overwrites it
    }
}

void main() {
    if (TILED) {
        transpose_tiles();
        return;
    }
    const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    const uint n = pc.rows * pc.cols;
    for (uint o = gl_GlobalInvocationID.x; o < n; o += stride) {
        const uint c = o / pc.rows, r = o - c * pc.rows;
        y_store(o, x_load(r * pc.cols + c));
    }
}
