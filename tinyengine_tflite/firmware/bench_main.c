/* Benchmark main (C99): publishes the model's input/output addresses, then runs one inference between two
 * marker functions the emulator starts and stops at. On hardware the markers are where a cycle counter would be
 * read. Built with -DTE_MODEL_HEADER='"model.h"' -DTE_MODEL_PREFIX=model -DTE_NUM_INPUTS=n -DTE_NUM_OUTPUTS=n. */
#include <stdint.h>

#include TE_MODEL_HEADER

#define TE_CAT2(a, b) a##_##b
#define TE_CAT(a, b) TE_CAT2(a, b)
#define TE_MODEL(name) TE_CAT(TE_MODEL_PREFIX, name)

int8_t *volatile te_bench_inputs[TE_NUM_INPUTS > 0 ? TE_NUM_INPUTS : 1];
int8_t *volatile te_bench_outputs[TE_NUM_OUTPUTS > 0 ? TE_NUM_OUTPUTS : 1];
/* Initialized, so it lives in .data: the harness checks the startup copied it (-1 before the run). */
volatile int32_t te_bench_status = -1;

__attribute__((noinline)) void te_bench_ready(void);
__attribute__((noinline)) void te_bench_done(void);

__attribute__((noinline)) void te_bench_ready(void) {
    __asm volatile("" ::: "memory");
}

__attribute__((noinline)) void te_bench_done(void) {
    __asm volatile("" ::: "memory");
}

int main(void) {
    int i;
    for (i = 0; i < TE_NUM_INPUTS; ++i) {
        te_bench_inputs[i] = TE_MODEL(input)(i);
    }
    for (i = 0; i < TE_NUM_OUTPUTS; ++i) {
        te_bench_outputs[i] = TE_MODEL(output)(i);
    }
    te_bench_ready();
    te_bench_status = TE_MODEL(invoke)();
    te_bench_done();
    for (;;) {
    }
}
