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
#include <string.h>

#include "app_config.h"
#include "classify.h"
#include "kws_frontend.h"
#include "kws_wav.h"
#include "model.h"

#if MODEL_INPUT0_SIZE != KWS_NUM_FEATURES
#error "the model's input is not the front end's 49x10 feature map"
#endif

static int16_t s_audio[KWS_CLIP_SAMPLES];

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
    const char *clip = NULL;
    const char *dump_path = NULL;
    float probabilities[APP_NUM_CLASSES];
    const int8_t *logits;
    uint32_t samples = 0u;
    int status, best, i;
    for (i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "--dump-features") == 0 && i + 1 < argc) {
            dump_path = argv[++i];
        } else if (argv[i][0] == '-' || clip != NULL) {
            clip = NULL;
            break;
        } else {
            clip = argv[i];
        }
    }
    if (clip == NULL) {
        fprintf(stderr, "usage: %s CLIP.wav [--dump-features FILE]\n", argv[0]);
        return 2;
    }
    status = kws_wav_read_file(clip, s_audio, KWS_CLIP_SAMPLES, &samples);
    if (status != KWS_WAV_OK) {
        fprintf(stderr, "%s: %s\n", clip, kws_wav_status_string(status));
        return 1;
    }
    kws_frontend_compute_int8(s_audio, model_input_scale[0], model_input_zero_point[0], model_input(0));
    if (dump_path != NULL && dump(dump_path, model_input(0), (size_t)MODEL_INPUT0_SIZE) != 0) {
        fprintf(stderr, "cannot write %s\n", dump_path);
        return 1;
    }
    printf("input: %s -> %u samples, %dx%d MFCC int8 (scale %.9g, zero point %d)\n", clip, (unsigned)samples,
           KWS_NUM_FRAMES, KWS_NUM_MFCC, (double)model_input_scale[0], (int)model_input_zero_point[0]);
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
