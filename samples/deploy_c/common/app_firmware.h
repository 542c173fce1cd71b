/* Sample apps, firmware side: the result globals a debugger or an emulator reads, and the end marker.
 * C99, no allocation. */
#ifndef APP_FIRMWARE_H
#define APP_FIRMWARE_H

#include <stdint.h>

#include "app_config.h"

extern volatile int32_t app_status;       /* the app's input status (0: ok); -1 until it ran */
extern volatile int32_t app_result_class; /* predicted class, -1 until classified */
extern volatile float app_result_score;
extern volatile int8_t app_result_logits[APP_NUM_CLASSES];

/* Runs the model on its input tensor and stores the predicted class, its score and the logits. */
void app_invoke_and_record(void);

/* Marks the end of the work: an empty function a debugger or an emulator stops at. */
void app_done(void);

#endif /* APP_FIRMWARE_H */
