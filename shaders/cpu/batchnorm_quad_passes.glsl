// batchnorm_quad_passes.glsl — the column passes of the per-invocation layout (batchnorm_columns.glsl)
// that batchnorm_forward_columns.comp, batchnorm_backward_columns.comp and the split passes of
// SyncBatchNorm (batchnorm_statistics_columns.comp, batchnorm_backward_sums_columns.comp) share, the
// counterpart of batchnorm_passes.glsl: each channel's sums in row order with Kahan compensation.
// Include after BATCHNORM_COLUMN_INPUT(x) (and BATCHNORM_COLUMN_INPUT(dy) with BATCHNORM_PASSES_DY
// defined first, for quad_dy_sums).
#ifndef VKGRAD_BATCHNORM_QUAD_PASSES_GLSL
#define VKGRAD_BATCHNORM_QUAD_PASSES_GLSL

// Stable two-pass statistics of quad q (batchnorm_passes.glsl's column_moments): mean0 = sum(x) / rows,
// then the sums of d = x - mean0 and of d^2.
void quad_moments(uint q, out vec4 mean0, out vec4 sum_d, out vec4 sum_d2) {
    const float n = float(pc.rows);
    precise vec4 sum = vec4(0.0), compensation = vec4(0.0);
    for (uint r = 0u; r < pc.rows; ++r) kahan_add4(sum, compensation, x_row(r, q));
    mean0 = sum / n;

    precise vec4 s_d = vec4(0.0), comp_d = vec4(0.0), s_d2 = vec4(0.0), comp_d2 = vec4(0.0);
    for (uint r = 0u; r < pc.rows; ++r) {
        const vec4 d = x_row(r, q) - mean0;
        kahan_add4(s_d, comp_d, d);
        kahan_add4(s_d2, comp_d2, d * d);
    }
    sum_d = s_d;
    sum_d2 = s_d2;
}

#ifdef BATCHNORM_PASSES_DY
// sum(dy) and sum(dy * xhat) of quad q, xhat = ((x - mean_hi) - mean_lo) * invstd (mean_lo = 0 for
// a plain float mean).
void quad_dy_sums(uint q, vec4 mean_hi, vec4 mean_lo, vec4 invstd, out vec4 sum_dy, out vec4 sum_dyx) {
    precise vec4 s_dy = vec4(0.0), comp_dy = vec4(0.0), s_dyx = vec4(0.0), comp_dyx = vec4(0.0);
    for (uint r = 0u; r < pc.rows; ++r) {
        const vec4 g = dy_row(r, q);
        kahan_add4(s_dy, comp_dy, g);
        kahan_add4(s_dyx, comp_dyx, g * (((x_row(r, q) - mean_hi) - mean_lo) * invstd));
    }
    sum_dy = s_dy;
    sum_dyx = s_dyx;
}
#endif

#endif
