/* Sample apps, host side. See app_host.h. */
#include "app_host.h"

#include <stdio.h>
#include <string.h>

#include "app_config.h"
#include "classify.h"
#include "model.h"

int app_parse_args(int argc, char **argv, const char *input_name, const char *dump_flag, const char **input,
                   const char **dump_path) {
    int i;
    *input = NULL;
    *dump_path = NULL;
    for (i = 1; i < argc; ++i) {
        if (strcmp(argv[i], dump_flag) == 0 && i + 1 < argc) {
            *dump_path = argv[++i];
        } else if (argv[i][0] == '-' || *input != NULL) {
            *input = NULL;
            break;
        } else {
            *input = argv[i];
        }
    }
    if (*input == NULL) {
        fprintf(stderr, "usage: %s %s [%s FILE]\n", argv[0], input_name, dump_flag);
        return 2;
    }
    return 0;
}

int app_dump_input(const char *path) {
    FILE *f;
    int ok;
    if (path == NULL) {
        return 0;
    }
    f = fopen(path, "wb");
    ok = f != NULL && fwrite(model_input(0), 1u, (size_t)MODEL_INPUT0_SIZE, f) == (size_t)MODEL_INPUT0_SIZE;
    if (f != NULL && fclose(f) != 0) {
        ok = 0;
    }
    if (!ok) {
        fprintf(stderr, "cannot write %s\n", path);
        return 1;
    }
    return 0;
}

void app_invoke_and_print(void) {
    float probabilities[APP_NUM_CLASSES];
    const int best = classify_invoke(probabilities);
    int i;
    printf("output int8:");
    for (i = 0; i < APP_NUM_CLASSES; ++i) {
        printf(" %d", (int)classify_logits()[i]);
    }
    printf("\n");
    for (i = 0; i < APP_NUM_CLASSES; ++i) {
        printf("score %s %.6f\n", app_labels[i], (double)probabilities[i]);
    }
    printf("class: %s (score %.6f)\n", app_labels[best], (double)probabilities[best]);
}
