// Specialization-constant ids that mean the same in every shader that declares them, and the host
// code that sets them. Included by GLSL (#include "spec_ids.h") and by C++ (lib/).
#ifndef VKGRAD_SPEC_IDS_H
#define VKGRAD_SPEC_IDS_H

// In the _f16 builds: bit b set when input binding b holds binary16 values (lib/kernel_select.cpp).
#define VKGRAD_SPEC_F16_MASK 14

#endif
