/*
 * Winograd F(4x4,3x3) tile transforms (contract in kernels.h) for this
 * ISA: the portable template compiled with this directory's flags, so the
 * compiler vectorises it to this ISA's vector width.
 */
#define RN_WG_SUFFIX scalar
#include "../f32-winograd-template.h"
