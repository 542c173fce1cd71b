/* Keyword spotting sample firmware (bare metal, Cortex-M): run the MFCC front end and the model on the 1 s clip
 * compiled into flash (sample_input.c) once, then idle. The result is left in the app_result_* globals, and
 * app_done() marks the end of the work (a debugger or an emulator can stop there). On a board, fill a 16000-
 * sample buffer from the microphone (e.g. every 0.5 s over the last second) and call the same functions.
 * C99, no allocation. */
#include <stdint.h>

#include "app_config.h"
#include "app_firmware.h"
#include "kws_frontend.h"
#include "model.h"
#include "sample_input.h"

int main(void) {
    kws_frontend_compute_int8(app_sample_audio, model_input_scale[0], model_input_zero_point[0], model_input(0));
    app_invoke_and_record();
    app_status = 0;
    app_done();
    for (;;) {
    }
}
