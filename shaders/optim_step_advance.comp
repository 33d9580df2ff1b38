#version 450
#extension GL_GOOGLE_include_directive : require
#include "float_controls.glsl"
// optim_step_advance: step[0] += 1, the optimizer's step counter (see include/vkgrad/optim.hpp).
// A dispatch of its own, recorded before the parameter updates that read the counter, so that
// replaying a recorded list advances t without re-recording.
//
// Bindings (set 0): 0 step: 1 int, read/written.
// Dispatch one workgroup; only invocation 0 writes.

layout(local_size_x = 1) in;

layout(set = 0, binding = 0) buffer Step { int step[]; };

void main() {
    if (gl_GlobalInvocationID.x == 0u) step[0] = step[0] + 1;
}
