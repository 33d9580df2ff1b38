// batchnorm_passes.glsl — the column passes of the workgroup layout that batchnorm_forward.comp,
// batchnorm_backward.comp and the split passes of SyncBatchNorm (batchnorm_statistics.comp,
// batchnorm_backward_sums.comp) share, so that each statistic is computed by one piece of code.
// Include after batchnorm_reduce.glsl, the push constant block `pc` (rows, channels) and the x
// buffer (float x[]); define BATCHNORM_PASSES_DY first when the shader also has a dy buffer.
// Every invocation of the workgroup must call these functions (they contain barriers).
#ifndef VKGRAD_BATCHNORM_PASSES_GLSL
#define VKGRAD_BATCHNORM_PASSES_GLSL

// Stable two-pass statistics of channel c over the rows (never E[x^2] - E[x]^2): pass 1 gives
// mean0 = sum(x) / rows; pass 2 sums d = x - mean0 and d^2 into sum_d and sum_d2 (the corrected
// two-pass algorithm: mean = mean0 + sum_d / rows and var = sum_d2 / rows - (sum_d / rows)^2 are
// exact even if mean0 is off by rounding).
void column_moments(uint c, bool in_range, out float mean0, out float sum_d, out float sum_d2) {
    const float n = float(pc.rows);
    precise float sum = 0.0, compensation = 0.0;
    if (in_range) {
        for (uint r = gl_LocalInvocationID.y; r < pc.rows; r += gl_WorkGroupSize.y) {
            kahan_add(sum, compensation, x[r * pc.channels + c]);
        }
    }
    float unused = 0.0;
    fold_rows(sum, unused);
    mean0 = sum / n;

    precise float s_d = 0.0, comp_d = 0.0, s_d2 = 0.0, comp_d2 = 0.0;
    if (in_range) {
        for (uint r = gl_LocalInvocationID.y; r < pc.rows; r += gl_WorkGroupSize.y) {
            float d = x[r * pc.channels + c] - mean0;
            kahan_add(s_d, comp_d, d);
            kahan_add(s_d2, comp_d2, d * d);
        }
    }
    fold_rows(s_d, s_d2);
    sum_d = s_d;
    sum_d2 = s_d2;
}

#ifdef BATCHNORM_PASSES_DY
// sum(dy) and sum(dy * xhat) of channel c over the rows, xhat = ((x - mean_hi) - mean_lo) * invstd
// (the mean as an unevaluated sum mean_hi + mean_lo; mean_lo = 0 for a plain float mean).
void column_dy_sums(uint c, bool in_range, float mean_hi, float mean_lo, float invstd, out float sum_dy,
                    out float sum_dyx) {
    precise float s_dy = 0.0, comp_dy = 0.0, s_dyx = 0.0, comp_dyx = 0.0;
    if (in_range) {
        for (uint r = gl_LocalInvocationID.y; r < pc.rows; r += gl_WorkGroupSize.y) {
            uint i = r * pc.channels + c;
            float g = dy[i];
            kahan_add(s_dy, comp_dy, g);
            kahan_add(s_dyx, comp_dyx, g * (((x[i] - mean_hi) - mean_lo) * invstd));
        }
    }
    fold_rows(s_dy, s_dyx);
    sum_dy = s_dy;
    sum_dyx = s_dyx;
}
#endif

#endif
