/* Keyword spotting sample firmware (bare metal, Cortex-M): run the MFCC front end and the model on the 1 s clip
 * compiled into flash (sample_input.c) once, then idle. The result is left in the app_result_* globals, and
 * app_done() marks the end of the work (a debugger or an emulator can stop there). On a board, fill a 16000-
 * sample buffer from the microphone (e.g. every 0.5 s over the last second) and call the same functions.
 * C99, no allocation. */
#include <stdint.h>

#include "app_config.h"
#include "classify.h"
#include "kws_frontend.h"
#include "model.h"
#include "sample_input.h"

volatile int32_t app_status = -1;         /* 0 once the clip was classified */
volatile int32_t app_result_class = -1;
volatile float app_result_score = 0.0f;
volatile int8_t app_result_logits[APP_NUM_CLASSES];

__attribute__((noinline)) void app_done(void);

__attribute__((noinline)) void app_done(void) {
    __asm volatile("" ::: "memory");
}

int main(void) {
    float probabilities[APP_NUM_CLASSES];
    const int8_t *logits;
    int best, i;
    kws_frontend_compute_int8(app_sample_audio, model_input_scale[0], model_input_zero_point[0], model_input(0));
    (void)model_invoke();
    best = classify_output(probabilities);
    logits = classify_logits();
    for (i = 0; i < APP_NUM_CLASSES; ++i) {
        app_result_logits[i] = logits[i];
    }
    app_result_score = probabilities[best];
    app_result_class = best;
    app_status = 0;
    app_done();
    for (;;) {
    }
}
