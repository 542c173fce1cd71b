/* Sample apps: softmax and argmax over the model's output. See classify.h. */
#include "classify.h"

#include <math.h>
#include <stddef.h>

#include "model.h"

#if MODEL_NUM_OUTPUTS != 1 || MODEL_OUTPUT0_SIZE != APP_NUM_CLASSES
#error "the model's output does not hold one logit per class of app_config.h"
#endif

const int8_t *classify_logits(void) { return model_output(0); }

int classify_invoke(float *probabilities) {
    (void)model_invoke();
    return classify_output(probabilities);
}

int classify_output(float *probabilities) {
    const int8_t *q = model_output(0);
    float largest;
    float sum = 0.0f;
    int best = 0;
    int i;
    (void)model_get_output_float(0, probabilities); /* logits, dequantized exactly as TFLite does */
    for (i = 1; i < APP_NUM_CLASSES; ++i) {
        if (q[i] > q[best]) {
            best = i;
        }
    }
    largest = probabilities[best];
    for (i = 0; i < APP_NUM_CLASSES; ++i) {
        probabilities[i] = expf(probabilities[i] - largest);
        sum += probabilities[i];
    }
    for (i = 0; i < APP_NUM_CLASSES; ++i) {
        probabilities[i] /= sum;
    }
    return best;
}
