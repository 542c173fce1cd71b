/* The benchmark's definition of the generated code's per-layer hook: TE_LAYER_BEGIN(i) / TE_LAYER_END(i) call
 * two empty functions with the layer index, whose addresses the emulator watches (the profiled build names this
 * header in -DTE_LAYER_HOOK_HEADER, which the generated code includes). On a board the same macros could read
 * the DWT cycle counter. */
#ifndef TE_LAYER_MARKERS_H
#define TE_LAYER_MARKERS_H

void te_layer_begin(int layer);
void te_layer_end(int layer);

#define TE_LAYER_BEGIN(i) te_layer_begin(i)
#define TE_LAYER_END(i) te_layer_end(i)

#endif /* TE_LAYER_MARKERS_H */
