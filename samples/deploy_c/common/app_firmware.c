/* Sample apps, firmware side. See app_firmware.h. */
#include "app_firmware.h"

#include "classify.h"

volatile int32_t app_status = -1;
volatile int32_t app_result_class = -1;
volatile float app_result_score = 0.0f;
volatile int8_t app_result_logits[APP_NUM_CLASSES];

void app_invoke_and_record(void) {
    float probabilities[APP_NUM_CLASSES];
    const int best = classify_invoke(probabilities);
    int i;
    for (i = 0; i < APP_NUM_CLASSES; ++i) {
        app_result_logits[i] = classify_logits()[i];
    }
    app_result_score = probabilities[best];
    app_result_class = best;
}

__attribute__((noinline)) void app_done(void) {
    __asm volatile("" ::: "memory");
}
