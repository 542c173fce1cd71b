"""The arena planner: no two live allocations overlap, never worse than greedy-by-size, in-place depthwise."""
import numpy as np
import pytest
from modelgen import int8_tflite

import tinyengine_tflite
from keras_mcunet._tf import keras
from tinyengine_tflite.planner import Allocation, place, align, live_bytes, plan, STRATEGIES
from tinyengine_tflite.ops.conv import depthwise_buffer_size


def _check_no_overlap(allocs, offsets):
    for i, a in enumerate(allocs):
        for j, b in enumerate(allocs[:i]):
            if a.first <= b.last and b.first <= a.last:
                lo1, hi1 = offsets[i], offsets[i] + align(a.size)
                lo2, hi2 = offsets[j], offsets[j] + align(b.size)
                assert hi1 <= lo2 or hi2 <= lo1, f"{a} and {b} overlap"


@pytest.mark.parametrize("seed", range(20))
def test_random_plans_are_valid_and_beat_greedy_by_size(seed):
    rng = np.random.default_rng(seed)
    n_layers = 30
    allocs = []
    for k in range(40):
        first = int(rng.integers(0, n_layers))
        allocs.append(Allocation(f"t{k}", int(rng.integers(1, 5000)), first,
                                 int(min(n_layers - 1, first + rng.integers(0, 6)))))
    p = plan(allocs)
    _check_no_overlap(allocs, p.offsets)
    _, by_size = place(allocs, STRATEGIES["greedy-by-size"](allocs), [align(a.size) for a in allocs])
    assert p.arena_bytes <= by_size
    assert p.arena_bytes >= max(live_bytes(allocs, n_layers))
    assert "offset" in p.describe(allocs)


def test_chain_reuses_memory():
    # a -> b -> c -> d: only two tensors are ever live together.
    allocs = [Allocation(n, 1000, i, i + 1) for i, n in enumerate("abcd")]
    p = plan(allocs)
    assert p.arena_bytes == 2000


def _mbconv():
    def build(x):
        x = keras.layers.Conv2D(24, 1, activation="relu6")(x)
        x = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu6")(x)
        return keras.layers.Conv2D(8, 1)(x)
    return int8_tflite(build, [(12, 10, 8)], "mbconv")


def test_inplace_depthwise_saves_the_output_buffer():
    model = _mbconv()
    lowered, with_ip = tinyengine_tflite.compile_model(model)
    _, without = tinyengine_tflite.compile_model(model, inplace=False)
    expanded = 12 * 10 * 24
    assert with_ip.inplace == {1}
    # Without in-place the depthwise layer holds input and output (2 x expanded); with it, one expanded
    # tensor plus an out_h*out_w channel plane; both also hold the kernel's small row/tap scratch (sized by
    # te_depthwise_conv_s8_get_buffer_size, which tests/test_te_dsp.py checks against depthwise_buffer_size).
    rows = depthwise_buffer_size(lowered.layers[1].params)
    assert without.live[1] == 2 * expanded + align(rows)
    assert with_ip.live[1] == expanded + align(12 * 10) + rows
    assert with_ip.arena_bytes < without.arena_bytes
    # in and out of the in-place layer share one offset
    layer = lowered.layers[1]
    assert with_ip.buffer_offset(layer.inputs[0]) == with_ip.buffer_offset(layer.outputs[0])


def test_report_matches_schedule(tmp_path):
    report = tinyengine_tflite.convert(_mbconv(), tmp_path)
    assert report.peak_sram_bytes == report.arena_bytes
    assert report.lower_bound_bytes <= report.peak_sram_bytes
    assert report.flash_bytes >= report.weight_bytes == 8 * 24 + 3 * 3 * 24 + 24 * 8
    assert report.layers[1].op == "DEPTHWISE_CONV_2D" and report.layers[1].inplace
    assert report.layers[0].macs == 12 * 10 * 24 * 8
    text = str(report)
    assert "peak SRAM" in text and "DEPTHWISE_CONV_2D (in place)" in text
