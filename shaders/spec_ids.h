// Specialization-constant ids that mean the same in every shader that declares them, and the host
// code that sets them. Included by GLSL (#include "spec_ids.h") and by C++ (lib/).
#ifndef VKGRAD_SPEC_IDS_H
#define VKGRAD_SPEC_IDS_H

// The host sets specialization constants positionally: element i of a kernel's specialization
// values (detail::Kernel::specialization, lib/pipeline.cpp) is constant_id i. Ids 1 and up are each
// shader's own, listed in its header comment; these ids mean the same in every shader.

// The local size in x (`layout(local_size_x_id = VKGRAD_SPEC_LOCAL_SIZE_X) in;`): the first value of
// every kernel's specialization.
#define VKGRAD_SPEC_LOCAL_SIZE_X 0

// In the _f16 builds: bit b set when input binding b holds binary16 values (lib/kernel_select.cpp).
#define VKGRAD_SPEC_F16_MASK 14

#endif
