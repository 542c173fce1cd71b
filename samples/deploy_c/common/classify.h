/* Sample apps: turn the model's int8 output into class probabilities and a label.
 *
 * The model ends in logits (keras_mcunet.build_model: no softmax). classify_output() dequantizes output 0 with
 * its scale and zero point (model_get_output_float), applies a softmax in float and returns the index of the
 * largest logit (the first one on ties, as numpy.argmax). C99, no allocation. */
#ifndef CLASSIFY_H
#define CLASSIFY_H

#include <stdint.h>

#include "app_config.h"

/* probabilities[APP_NUM_CLASSES] <- softmax of the dequantized logits; returns the predicted class. */
int classify_output(float *probabilities);

/* model_invoke(), then classify_output(probabilities); returns the predicted class. */
int classify_invoke(float *probabilities);

/* The int8 logits of the last model_invoke(), output 0 (APP_NUM_CLASSES values). */
const int8_t *classify_logits(void);

#endif /* CLASSIFY_H */
