/* Bare-metal Cortex-M startup (C99) of the benchmark harness and the sample firmware: vector table, .data copy,
 * .bss zeroing, FPU enable when the code is built for it, then main(). The stack starts at _estack, the top of
 * SRAM (set by the linker script). */
#include <stdint.h>

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
int main(void);
void Reset_Handler(void);
void Default_Handler(void);

typedef struct {
    uint32_t *initial_sp;
    void (*handlers[15])(void);
} te_vector_table;

__attribute__((section(".isr_vector"), used))
const te_vector_table te_vectors = {
    &_estack,
    {Reset_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler,
     0, 0, 0, 0, Default_Handler, Default_Handler, 0, Default_Handler, Default_Handler}
};

void Default_Handler(void) {
    for (;;) {
    }
}

void Reset_Handler(void) {
    const uint32_t *src = &_sidata;
    uint32_t *dst = &_sdata;
#if defined(__ARM_FP)
    /* Hard-float builds (e.g. -mfloat-abi=hard -mfpu=fpv4-sp-d16): full access to CP10 and CP11. */
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;
    __asm volatile("dsb\n\tisb" ::: "memory");
#endif
    while (dst < &_edata) {
        *dst++ = *src++;
    }
    for (dst = &_sbss; dst < &_ebss; ++dst) {
        *dst = 0;
    }
    (void)main();
    for (;;) {
    }
}
