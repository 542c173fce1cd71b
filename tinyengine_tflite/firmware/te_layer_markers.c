/* The per-layer marker functions (see te_layer_markers.h): empty, never inlined, so each layer boundary is one
 * call the emulator can see. */
#include "te_layer_markers.h"

__attribute__((noinline)) void te_layer_begin(int layer) {
    __asm volatile("" : : "r"(layer) : "memory");
}

__attribute__((noinline)) void te_layer_end(int layer) {
    __asm volatile("" : : "r"(layer) : "memory");
}
