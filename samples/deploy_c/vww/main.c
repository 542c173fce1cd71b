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
#include <string.h>

#include "app_config.h"
#include "classify.h"
#include "model.h"
#include "vww_image_reader.h"

#if APP_INPUT_HEIGHT * APP_INPUT_WIDTH * APP_INPUT_CHANNELS != MODEL_INPUT0_SIZE
#error "app_config.h's input shape does not match the model's input"
#endif

static int dump(const char *path, const int8_t *data, size_t n) {
    FILE *f = fopen(path, "wb");
    int ok;
    if (f == NULL) {
        return 1;
    }
    ok = fwrite(data, 1u, n, f) == n;
    return (fclose(f) == 0 && ok) ? 0 : 1;
}

int main(int argc, char **argv) {
    const char *image = NULL;
    const char *dump_path = NULL;
    float probabilities[APP_NUM_CLASSES];
    const int8_t *logits;
    int status, best, i;
    for (i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "--dump-input") == 0 && i + 1 < argc) {
            dump_path = argv[++i];
        } else if (argv[i][0] == '-' || image != NULL) {
            image = NULL;
            break;
        } else {
            image = argv[i];
        }
    }
    if (image == NULL) {
        fprintf(stderr, "usage: %s IMAGE.bmp [--dump-input FILE]\n", argv[0]);
        return 2;
    }
    status = vww_bmp_read_file(image, APP_INPUT_HEIGHT, APP_INPUT_WIDTH, APP_INPUT_CHANNELS, model_input_scale[0],
                               model_input_zero_point[0], model_input(0));
    if (status != VWW_BMP_OK) {
        fprintf(stderr, "%s: %s\n", image, vww_bmp_status_string(status));
        return 1;
    }
    if (dump_path != NULL && dump(dump_path, model_input(0), (size_t)MODEL_INPUT0_SIZE) != 0) {
        fprintf(stderr, "cannot write %s\n", dump_path);
        return 1;
    }
    printf("input: %s -> %dx%dx%d int8 (scale %.9g, zero point %d)\n", image, APP_INPUT_HEIGHT, APP_INPUT_WIDTH,
           APP_INPUT_CHANNELS, (double)model_input_scale[0], (int)model_input_zero_point[0]);
    (void)model_invoke();
    best = classify_output(probabilities);
    logits = classify_logits();
    printf("output int8:");
    for (i = 0; i < APP_NUM_CLASSES; ++i) {
        printf(" %d", (int)logits[i]);
    }
    printf("\n");
    for (i = 0; i < APP_NUM_CLASSES; ++i) {
        printf("score %s %.6f\n", app_labels[i], (double)probabilities[i]);
    }
    printf("class: %s (score %.6f)\n", app_labels[best], (double)probabilities[best]);
    return 0;
}
