/* Sample apps, host side: the command line and the printed result that the VWW and KWS programs share.
 * C99, no allocation. */
#ifndef APP_HOST_H
#define APP_HOST_H

/* Parses "PROGRAM INPUT [DUMP_FLAG FILE]": on success sets *input (and *dump_path, else NULL) and returns 0;
 * otherwise prints "usage: PROGRAM INPUT_NAME [DUMP_FLAG FILE]" to stderr and returns 2. */
int app_parse_args(int argc, char **argv, const char *input_name, const char *dump_flag, const char **input,
                   const char **dump_path);

/* Writes the model's int8 input tensor to path when path is not NULL; 0 on success, else 1 (after a message). */
int app_dump_input(const char *path);

/* Runs the model on its input tensor and prints the int8 logits, the softmax score of each label and the
 * predicted label (the lines samples.deploy parses). */
void app_invoke_and_print(void);

#endif /* APP_HOST_H */
