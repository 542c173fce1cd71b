/* Visual Wake Words sample: classify one BMP image (person / no person) with the generated model.
 *
 *   ./main IMAGE.bmp [--dump-input FILE]
 *
 * The BMP (uncompressed 8-bit palette or 24-bit, any size) is resized to the model's input with the nearest
 * rule, scaled to [0, 1] and quantized with the model's input scale and zero point (vww_image_reader.c), exactly
 * as samples.vww.load_image + samples.quantize.quantize_int8 do in Python. Prints the int8 logits, the softmax
 * score of each class and the predicted class. --dump-input writes the int8 input tensor (H x W x C bytes).
 * Exit status: 0 on success, 1 on a bad image, 2 on bad arguments. C99, no allocation. */
#include <stdio.h>

#include "app_config.h"
#include "app_host.h"
#include "model.h"
#include "vww_image_reader.h"

#if APP_INPUT_HEIGHT * APP_INPUT_WIDTH * APP_INPUT_CHANNELS != MODEL_INPUT0_SIZE
#error "app_config.h's input shape does not match the model's input"
#endif

int main(int argc, char **argv) {
    const char *image, *dump_path;
    int status = app_parse_args(argc, argv, "IMAGE.bmp", "--dump-input", &image, &dump_path);
    if (status != 0) {
        return status;
    }
    status = vww_bmp_read_file(image, APP_INPUT_HEIGHT, APP_INPUT_WIDTH, APP_INPUT_CHANNELS, model_input_scale[0],
                               model_input_zero_point[0], model_input(0));
    if (status != VWW_BMP_OK) {
        fprintf(stderr, "%s: %s\n", image, vww_bmp_status_string(status));
        return 1;
    }
    if (app_dump_input(dump_path) != 0) {
        return 1;
    }
    printf("input: %s -> %dx%dx%d int8 (scale %.9g, zero point %d)\n", image, APP_INPUT_HEIGHT, APP_INPUT_WIDTH,
           APP_INPUT_CHANNELS, (double)model_input_scale[0], (int)model_input_zero_point[0]);
    app_invoke_and_print();
    return 0;
}
