"""RESIZE_BILINEAR against the TFLite reference kernels (LiteRT BUILTIN_REF and TFLite Micro): up and down,
odd sizes, align_corners, half_pixel_centers and neither; and the compile-time (folding) arithmetic against
LiteRT."""
import numpy as np
import pytest
from modelgen import int8_tflite, op_names
from reference import assert_bit_exact, random_inputs, run_litert

import tinyengine_tflite
from keras_mcunet._tf import keras, tf
from tinyengine_tflite.ops.resize import bilinear, bilinear_map

L = keras.layers
V1 = tf.compat.v1.image.resize_bilinear

CASES = {
    # name: (input shape, build)
    "upsample2_half_pixel": ((4, 5, 3), lambda x: L.UpSampling2D(2, interpolation="bilinear")(x)),
    "up_odd_half_pixel": ((7, 5, 3), lambda x: tf.image.resize(x, (10, 13), method="bilinear")),
    "down_half_pixel": ((9, 11, 2), lambda x: tf.image.resize(x, (4, 3), method="bilinear")),
    "up_align_corners": ((5, 4, 3), lambda x: V1(x, (9, 13), align_corners=True)),
    "down_align_corners": ((9, 7, 2), lambda x: V1(x, (4, 1), align_corners=True)),
    "up_plain": ((3, 5, 4), lambda x: V1(x, (7, 11))),
    "down_plain_after_conv": ((8, 6, 3), lambda x: V1(L.Conv2D(5, 3)(x), (5, 3))),
    "to_one_pixel": ((5, 5, 3), lambda x: tf.image.resize(x, (1, 1), method="bilinear")),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_resize_bilinear(case):
    shape, build = CASES[case]
    model = int8_tflite(build, [shape], f"resize_{case}")
    assert "RESIZE_BILINEAR" in op_names(model)
    assert_bit_exact(model)


@pytest.mark.parametrize("case", ["up_odd_half_pixel", "up_align_corners", "up_plain"])
def test_folding_arithmetic_matches_litert(case):
    """bilinear(), which folds a constant input, computes what LiteRT computes."""
    shape, build = CASES[case]
    model = int8_tflite(build, [shape], f"resize_{case}")
    it = tinyengine_tflite.Interpreter(model_content=model)
    out_h, out_w = it.get_output_details()[0]["shape"][1:3]
    align = case == "up_align_corners"
    half = case == "up_odd_half_pixel"
    for seed in (0, 1):
        x = random_inputs(it.get_input_details(), seed)
        ys = bilinear_map(shape[0], int(out_h), align, half)
        xs = bilinear_map(shape[1], int(out_w), align, half)
        ours = bilinear(x[0], ys, xs).astype(np.int8)
        assert np.array_equal(ours, run_litert(model, x)[0])
