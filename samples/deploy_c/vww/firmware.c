/* Visual Wake Words sample firmware (bare metal, Cortex-M): classify the BMP compiled into flash
 * (sample_input.c) once, then idle. The result is left in the app_result_* globals, and app_done() marks the
 * end of the work (a debugger or an emulator can stop there). On a board, feed camera frames to
 * vww_bmp_decode_memory (or write the input tensor directly) and act on the class instead. C99, no allocation. */
#include <stdint.h>

#include "app_config.h"
#include "app_firmware.h"
#include "model.h"
#include "sample_input.h"
#include "vww_image_reader.h"

int main(void) {
    int status = vww_bmp_decode_memory(app_sample_input, app_sample_input_bytes, APP_INPUT_HEIGHT, APP_INPUT_WIDTH,
                                       APP_INPUT_CHANNELS, model_input_scale[0], model_input_zero_point[0],
                                       model_input(0));
    if (status == VWW_BMP_OK) {
        app_invoke_and_record();
    }
    app_status = status;   /* vww_bmp_status of the decode */
    app_done();
    for (;;) {
    }
}
