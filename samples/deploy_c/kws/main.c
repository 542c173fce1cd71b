/* Keyword spotting sample: classify one 1 s, 16 kHz, 16-bit mono wav clip with the generated model.
 *
 *   ./main CLIP.wav [--dump-features FILE]
 *
 * The clip is read (kws_wav.c; zero-padded or cut to 16000 samples), turned into 49x10 MFCCs by the C front end
 * (kws_frontend.c, the twin of samples.kws.frontend) and quantized with the model's input scale and zero point.
 * Prints the int8 logits, the softmax score of each of the 12 labels and the predicted label. --dump-features
 * writes the int8 input tensor (490 bytes). Exit status: 0 on success, 1 on a bad clip, 2 on bad arguments.
 * C99, no allocation. */
#include <stdio.h>

#include "app_host.h"
#include "kws_frontend.h"
#include "kws_wav.h"
#include "model.h"

#if MODEL_INPUT0_SIZE != KWS_NUM_FEATURES
#error "the model's input is not the front end's 49x10 feature map"
#endif

static int16_t s_audio[KWS_CLIP_SAMPLES];

int main(int argc, char **argv) {
    const char *clip, *dump_path;
    uint32_t samples = 0u;
    int status = app_parse_args(argc, argv, "CLIP.wav", "--dump-features", &clip, &dump_path);
    if (status != 0) {
        return status;
    }
    status = kws_wav_read_file(clip, s_audio, KWS_CLIP_SAMPLES, &samples);
    if (status != KWS_WAV_OK) {
        fprintf(stderr, "%s: %s\n", clip, kws_wav_status_string(status));
        return 1;
    }
    kws_frontend_compute_int8(s_audio, model_input_scale[0], model_input_zero_point[0], model_input(0));
    if (app_dump_input(dump_path) != 0) {
        return 1;
    }
    printf("input: %s -> %u samples, %dx%d MFCC int8 (scale %.9g, zero point %d)\n", clip, (unsigned)samples,
           KWS_NUM_FRAMES, KWS_NUM_MFCC, (double)model_input_scale[0], (int)model_input_zero_point[0]);
    app_invoke_and_print();
    return 0;
}
