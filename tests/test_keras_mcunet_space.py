"""SearchSpace / ArchConfig (sampling, evolution, JSON, validation), build_model and arch_layers."""
import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from keras_mcunet import ArchConfig, SearchSpace, arch_layers, build_model, make_divisible

PAPER = SearchSpace()
# A small space with an expand ratio of 1 (no expand conv) and non-square audio-like inputs.
AUDIO = SearchSpace(width_mults=(0.2, 0.5), resolutions=((49, 10), 32), in_channels=1, num_classes=12,
                    expand_ratios=(1, 3, 6), stage_depths=((1, 2),) * 5 + ((1,),))


def test_defaults_are_the_papers():
    assert PAPER.width_mults == (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
    assert PAPER.resolutions == (48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224)
    assert PAPER.kernel_sizes == (3, 5, 7) and PAPER.expand_ratios == (3, 4, 6)
    assert PAPER.stage_channels == (24, 40, 80, 96, 192, 320)
    assert PAPER.stage_strides == (2, 2, 2, 1, 2, 1)
    assert PAPER.stage_depths == ((2, 3, 4),) * 5 + ((1,),)
    assert (PAPER.stem_channels, PAPER.first_block_channels) == (32, 16)


def test_make_divisible():
    assert make_divisible(32 * 0.2) == 8
    assert make_divisible(96 * 0.2) == 24       # 16 would lose more than 10%
    assert make_divisible(320 * 0.35) == 112
    assert make_divisible(40 * 1.0) == 40
    assert make_divisible(3) == 8


def test_json_and_dict_round_trip():
    rng = random.Random(0)
    for space in (PAPER, AUDIO):
        for _ in range(20):
            arch = space.sample(rng)
            text = arch.to_json()
            assert isinstance(json.loads(text)["ks"][0], list)
            back = ArchConfig.from_json(text)
            assert back == arch and hash(back) == hash(arch)
            assert ArchConfig.from_dict(arch.to_dict()) == arch
    audio = AUDIO.make_arch([[3]] * 5 + [[5]], [[1]] * 5 + [[6]], 0.2, (49, 10))
    assert json.loads(audio.to_json())["resolution"] == [49, 10]
    assert ArchConfig.from_json(audio.to_json()).input_shape == (49, 10, 1)


def test_bad_json_and_dicts_are_rejected():
    good = PAPER.min_arch().to_dict()
    with pytest.raises(ValueError, match="unknown ArchConfig keys"):
        ArchConfig.from_dict({**good, "kernel": 3})
    with pytest.raises(ValueError, match="lacks required keys"):
        ArchConfig.from_dict({k: v for k, v in good.items() if k != "ks"})
    with pytest.raises(ValueError, match="not valid ArchConfig JSON"):
        ArchConfig.from_json("{not json")


def test_sampling_is_valid_varied_and_seeded():
    archs = [PAPER.sample(seed) for seed in range(60)]
    for arch in archs:
        assert PAPER.validate(arch) is arch
    assert len(set(archs)) == 60
    assert len({a.width_mult for a in archs}) >= 5 and len({a.resolution for a in archs}) >= 5
    assert {d for a in archs for d in a.depths[:5]} == {2, 3, 4}
    assert PAPER.sample(7) == PAPER.sample(7)
    assert PAPER.validate(PAPER.sample(np.random.default_rng(1)))


def test_mutation_is_valid_and_follows_prob():
    rng = random.Random(1)
    parent = PAPER.sample(rng)
    assert PAPER.mutate(parent, 0.0, rng) == parent
    children = [PAPER.mutate(parent, 0.5, rng) for _ in range(50)]
    for child in children:
        PAPER.validate(child)
    assert sum(c != parent for c in children) >= 45
    for prob in (-0.1, 1.5, "0.5"):
        with pytest.raises(ValueError, match="mutation prob"):
            PAPER.mutate(parent, prob, rng)


def test_crossover_takes_each_gene_from_a_parent():
    rng = random.Random(2)
    for _ in range(30):
        a, b = PAPER.sample(rng), PAPER.sample(rng)
        child = PAPER.crossover(a, b, rng)
        PAPER.validate(child)
        assert child.width_mult in (a.width_mult, b.width_mult)
        assert child.resolution in (a.resolution, b.resolution)
        for i, depth in enumerate(child.depths):
            assert depth in (a.depths[i], b.depths[i])
            for j in range(depth):
                parents = [p for p in (a, b) if j < p.depths[i]]
                assert child.ks[i][j] in [p.ks[i][j] for p in parents]
                assert child.expand[i][j] in [p.expand[i][j] for p in parents]


def test_max_and_min_arch():
    big, small = PAPER.max_arch(), PAPER.min_arch()
    assert big.depths == (4, 4, 4, 4, 4, 1) and small.depths == (2, 2, 2, 2, 2, 1)
    assert {k for s in big.ks for k in s} == {7} and {e for s in big.expand for e in s} == {6}
    assert {k for s in small.ks for k in s} == {3} and {e for s in small.expand for e in s} == {3}
    assert (big.width_mult, big.resolution) == (1.0, 224)
    assert (small.width_mult, small.resolution) == (0.2, 48)
    assert PAPER.max_arch(0.5, 96).resolution == 96


def test_validate_rejects_what_is_not_in_the_space():
    arch = PAPER.min_arch()
    cases = [
        ({"resolution": 50}, "resolution 50 is not in"),
        ({"width_mult": 0.25}, "width_mult 0.25 is not in"),
        ({"ks": ((3, 9),) + arch.ks[1:]}, "kernel size 9 is not in"),
        ({"expand": ((3, 5),) + arch.expand[1:]}, "expand ratio 5 is not in"),
        ({"ks": ((3,) * 5,) + arch.ks[1:], "expand": ((3,) * 5,) + arch.expand[1:]}, "has 5 blocks"),
        ({"in_channels": 1}, "in_channels"),
        ({"num_classes": 10}, "num_classes"),
    ]
    for changes, message in cases:
        bad = ArchConfig.from_dict({**arch.to_dict(), **changes})
        with pytest.raises(ValueError, match=message):
            PAPER.validate(bad)
    with pytest.raises(ValueError, match="expected an ArchConfig"):
        PAPER.validate(arch.to_dict())


def test_malformed_archs_and_spaces_raise_clear_errors():
    d = PAPER.min_arch().to_dict()
    with pytest.raises(ValueError, match="kernel sizes must be odd"):
        ArchConfig.from_dict({**d, "ks": [[3, 4]] + d["ks"][1:]})
    with pytest.raises(ValueError, match="one list of per-block values for each of the 6 stages"):
        ArchConfig.from_dict({**d, "ks": d["ks"][:5]})
    with pytest.raises(ValueError, match="ks has 2 blocks and expand has 3"):
        ArchConfig.from_dict({**d, "expand": [[3, 3, 3]] + d["expand"][1:]})
    with pytest.raises(ValueError, match="resolution must be"):
        ArchConfig.from_dict({**d, "resolution": -48})
    with pytest.raises(ValueError, match="in_channels must be a positive int"):
        ArchConfig.from_dict({**d, "in_channels": 0})
    with pytest.raises(ValueError, match="kernel_sizes must be odd"):
        SearchSpace(kernel_sizes=(3, 4))
    with pytest.raises(ValueError, match="stage_depths"):
        SearchSpace(stage_channels=(24, 40))
    with pytest.raises(ValueError, match="stage_strides must hold values from"):
        SearchSpace(stage_strides=(2, 2, 2, 1, 3, 1))
    with pytest.raises(ValueError, match="width_mults"):
        SearchSpace(width_mults=(-0.5,))
    with pytest.raises(ValueError, match="several choices"):
        PAPER.make_arch(*(([[3, 3]] * 5 + [[3]]),) * 2)
    with pytest.raises(ValueError, match="not in the space's choices"):
        PAPER.subspace(width_mult=0.25)
    assert PAPER.subspace(width_mult=0.5, resolution=96).resolutions == (96,)


def test_build_model_shapes():
    arch = PAPER.sample(3)
    model = build_model(arch)
    assert model.input_shape == (None, arch.resolution, arch.resolution, 3)
    assert model.output_shape == (None, 1000)
    audio = AUDIO.make_arch([[3, 5]] * 5 + [[7]], [[1, 6]] * 5 + [[3]], 0.5, (49, 10))
    model = build_model(audio)
    out = model.predict(np.random.default_rng(0).normal(size=(2, 49, 10, 1)).astype(np.float32), verbose=0)
    assert out.shape == (2, 12) and np.isfinite(out).all()
    with pytest.raises(ValueError, match="expects an ArchConfig"):
        build_model(arch.to_dict())


def _keras_layers_like_tflite(model):
    """The model's layers that become TFLite operators, in order (BN and ReLU6 fold into convs)."""
    kinds = {"Conv2D": "conv", "DepthwiseConv2D": "depthwise", "Add": "add", "GlobalAveragePooling2D": "mean",
             "Dense": "fc"}
    return [(layer, kinds[type(layer).__name__]) for layer in model.layers if type(layer).__name__ in kinds]


@pytest.mark.parametrize("space,seed", [(PAPER.subspace(0.2, 64), 0), (AUDIO, 1), (AUDIO, 2)])
def test_arch_layers_match_the_built_model(space, seed):
    arch = space.sample(seed)
    specs = arch_layers(arch)
    model = build_model(arch)
    layers = _keras_layers_like_tflite(model)
    assert [(s.name, s.kind) for s in specs] == [(layer.name, kind) for layer, kind in layers]
    position = {s.name: i for i, s in enumerate(specs)}
    for spec, (layer, kind) in zip(specs, layers):
        assert spec.output_shape == tuple(layer.output_shape[1:]), spec.name
        in_shape = layer.input_shape[0] if kind == "add" else layer.input_shape
        assert spec.input_shape == tuple(in_shape[1:]), spec.name
        if kind in ("conv", "depthwise"):
            assert spec.kernel_size == layer.kernel_size[0] and spec.stride == layer.strides[0]
            assert spec.padding == "SAME" and layer.padding == "same"
        if kind == "add":
            # The shortcut is the block input: the output of layer residual_from (after its BN / ReLU6).
            producer = layer.inbound_nodes[0].inbound_layers[0].name
            assert spec.residual_from < position[spec.name]
            assert producer.startswith(specs[spec.residual_from].name)
    # Weights plus folded-BN biases, as the int8 flatbuffer stores them.
    expected = sum(np.prod(w.shape) for layer, _ in layers for w in layer.weights)
    expected += sum(layer.output_shape[-1] for layer, kind in layers if kind in ("conv", "depthwise"))
    assert sum(s.params for s in specs) == expected
    stem = specs[0]
    assert stem.macs == np.prod(stem.output_shape) * 9 * arch.in_channels


def test_arch_layers_structure():
    arch = AUDIO.make_arch([[3, 5]] * 5 + [[7]], [[1, 3]] * 5 + [[6]], 0.2, (49, 10))
    specs = arch_layers(arch)
    kinds = [s.kind for s in specs]
    assert kinds[0] == "conv" and kinds[-2:] == ["mean", "fc"]
    assert specs[-2].output_shape == specs[-1].input_shape == (specs[-3].output_shape[-1],)
    assert specs[-1].output_shape == (12,)
    assert specs[0].output_shape[:2] == (25, 5)       # SAME padding: ceil(49 / 2), ceil(10 / 2)
    # Expand ratio 1: no expand conv, so the first block of a stage starts with its depthwise conv.
    assert "stage1_block0_expand" not in [s.name for s in specs]
    assert "stage1_block1_expand" in [s.name for s in specs]
    for s in specs:
        if s.kind == "add":
            assert specs[s.residual_from].output_shape == s.input_shape
        else:
            assert s.residual_from is None
    with pytest.raises(ValueError, match="expects an ArchConfig"):
        arch_layers("stage1")


def test_package_import_does_not_load_tensorflow():
    code = ("import sys, keras_mcunet; s = keras_mcunet.SearchSpace(); s.sample(0); "
            "keras_mcunet.arch_layers(s.min_arch()); print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "False"
