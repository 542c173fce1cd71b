/* Visual Wake Words sample firmware (bare metal, Cortex-M): classify the BMP compiled into flash
 * (sample_input.c) once, then idle. The result is left in the app_result_* globals, and app_done() marks the
 * end of the work (a debugger or an emulator can stop there). On a board, feed camera frames to
 * vww_bmp_decode_memory (or write the input tensor directly) and act on the class instead. C99, no allocation. */
#include <stdint.h>

#include "app_config.h"
#include "classify.h"
#include "model.h"
#include "sample_input.h"
#include "vww_image_reader.h"

volatile int32_t app_status = -1;         /* vww_bmp_status of the decode; -1 until it ran */
volatile int32_t app_result_class = -1;
volatile float app_result_score = 0.0f;
volatile int8_t app_result_logits[APP_NUM_CLASSES];

__attribute__((noinline)) void app_done(void);

__attribute__((noinline)) void app_done(void) {
    __asm volatile("" ::: "memory");
}

int main(void) {
    float probabilities[APP_NUM_CLASSES];
    int status = vww_bmp_decode_memory(app_sample_input, app_sample_input_bytes, APP_INPUT_HEIGHT, APP_INPUT_WIDTH,
                                       APP_INPUT_CHANNELS, model_input_scale[0], model_input_zero_point[0],
                                       model_input(0));
    if (status == VWW_BMP_OK) {
        const int8_t *logits;
        int best, i;
        (void)model_invoke();
        best = classify_output(probabilities);
        logits = classify_logits();
        for (i = 0; i < APP_NUM_CLASSES; ++i) {
            app_result_logits[i] = logits[i];
        }
        app_result_score = probabilities[best];
        app_result_class = best;
    }
    app_status = status;
    app_done();
    for (;;) {
    }
}
