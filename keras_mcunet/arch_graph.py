"""A subnet as plain data, without TensorFlow: its MBConv blocks (`arch_blocks`, the structure build_model and the
supernet share) and the int8 TFLite operator sequence it exports to (`arch_layers`, for the memory profiler).

`arch_layers(arch)` lists, in execution order, exactly the operators of the flatbuffer that
`export_tflite(build_model(arch), ...)` writes (batch norm folded into the convolutions, ReLU6 fused):

    conv       stem 3x3 stride 2
    per block  [conv 1x1 expand, absent when the expand ratio is 1] -> depthwise kxk (stride s)
               -> conv 1x1 project -> [add, when stride is 1 and input and output channels match]
    mean       global average pool (TFLite MEAN over H and W)
    fc         classifier (FULLY_CONNECTED)

Each layer reads the previous layer's output; an "add" also reads the output of layer `residual_from` (the
block's input). Shapes leave out the batch dimension of 1: (H, W, C) for feature maps, (C,) after the mean.
Convolutions use SAME padding, so an output side is ceil(input side / stride).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .search_space import FIRST_BLOCK_KERNEL, ArchConfig, make_divisible, resolution_hw

LAYER_KINDS = ("conv", "depthwise", "add", "mean", "fc")


@dataclass(frozen=True)
class BlockSpec:
    """One MBConv block of a subnet. stage 0 is the fixed block after the stem; searched stages count from 1."""
    name: str
    stage: int
    index: int
    in_channels: int
    mid_channels: int
    out_channels: int
    kernel_size: int
    expand_ratio: int
    stride: int
    in_hw: tuple[int, int]

    @property
    def out_hw(self) -> tuple[int, int]:
        return _strided(self.in_hw, self.stride)

    @property
    def has_expand(self) -> bool:
        return self.expand_ratio != 1

    @property
    def residual(self) -> bool:
        return self.stride == 1 and self.in_channels == self.out_channels


def _strided(hw: tuple[int, int], stride: int) -> tuple[int, int]:
    return (math.ceil(hw[0] / stride), math.ceil(hw[1] / stride))


def mid_channels(in_channels: int, expand_ratio: int) -> int:
    """Channels of the expanded (depthwise) layer: the input's when the ratio is 1, else rounded to 8."""
    return in_channels if expand_ratio == 1 else make_divisible(round(in_channels * expand_ratio), 8)


def scaled(arch: ArchConfig, base_channels: int) -> int:
    return make_divisible(base_channels * arch.width_mult, 8)


def stem_spec(arch: ArchConfig) -> tuple[int, tuple[int, int]]:
    """(output channels, output (H, W)) of the stem conv."""
    return scaled(arch, arch.stem_channels), _strided(resolution_hw(arch.resolution), 2)


def block_name(stage: int, index: int) -> str:
    return f"stage{stage}_block{index}"


def arch_blocks(arch: ArchConfig) -> list[BlockSpec]:
    """The MBConv blocks of `arch` in order: the fixed first block, then each searched stage's active blocks."""
    channels, hw = stem_spec(arch)
    blocks = []

    def add(stage, index, out_channels, k, e, stride):
        nonlocal channels, hw
        block = BlockSpec(block_name(stage, index), stage, index, channels, mid_channels(channels, e),
                          out_channels, k, e, stride, hw)
        blocks.append(block)
        channels, hw = out_channels, block.out_hw

    add(0, 0, scaled(arch, arch.first_block_channels), FIRST_BLOCK_KERNEL, 1, 1)
    for i, (base, stride, stage_ks, stage_e) in enumerate(
            zip(arch.stage_channels, arch.stage_strides, arch.ks, arch.expand), start=1):
        for j, (k, e) in enumerate(zip(stage_ks, stage_e)):
            add(i, j, scaled(arch, base), k, e, stride if j == 0 else 1)
    return blocks


@dataclass(frozen=True)
class LayerSpec:
    """One int8 TFLite operator of an exported subnet. kernel_size, stride and padding are None for add, mean
    and fc; residual_from is the index (in the arch_layers list) of the add's second input."""
    name: str
    kind: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    kernel_size: int | None = None
    stride: int | None = None
    padding: str | None = None
    activation: str | None = None
    residual_from: int | None = None

    @property
    def params(self) -> int:
        """Weights plus biases (the flash the layer's constants take, in elements)."""
        cin, cout = self.input_shape[-1], self.output_shape[-1]
        if self.kind == "conv":
            return self.kernel_size ** 2 * cin * cout + cout
        if self.kind == "depthwise":
            return self.kernel_size ** 2 * cout + cout
        if self.kind == "fc":
            return cin * cout + cout
        return 0

    @property
    def macs(self) -> int:
        """Multiply-accumulates of one inference."""
        out = math.prod(self.output_shape)
        if self.kind == "conv":
            return out * self.kernel_size ** 2 * self.input_shape[-1]
        if self.kind == "depthwise":
            return out * self.kernel_size ** 2
        if self.kind == "fc":
            return out * self.input_shape[-1]
        return 0


def arch_layers(arch: ArchConfig) -> list[LayerSpec]:
    """The int8 TFLite operator sequence of build_model(arch) (see the module docstring)."""
    if not isinstance(arch, ArchConfig):
        raise ValueError(f"arch_layers expects an ArchConfig, got {type(arch).__name__}")
    h, w, c = arch.input_shape
    stem_channels, stem_hw = stem_spec(arch)
    layers = [LayerSpec("stem_conv", "conv", (h, w, c), (*stem_hw, stem_channels), 3, 2, "SAME", "relu6")]
    for b in arch_blocks(arch):
        block_input = len(layers) - 1
        in_shape = (*b.in_hw, b.in_channels)
        mid_in = (*b.in_hw, b.mid_channels)
        mid_out = (*b.out_hw, b.mid_channels)
        out_shape = (*b.out_hw, b.out_channels)
        if b.has_expand:
            layers.append(LayerSpec(f"{b.name}_expand", "conv", in_shape, mid_in, 1, 1, "SAME", "relu6"))
        layers.append(LayerSpec(f"{b.name}_dw", "depthwise", mid_in, mid_out, b.kernel_size, b.stride, "SAME",
                                "relu6"))
        layers.append(LayerSpec(f"{b.name}_project", "conv", mid_out, out_shape, 1, 1, "SAME"))
        if b.residual:
            layers.append(LayerSpec(f"{b.name}_add", "add", out_shape, out_shape, residual_from=block_input))
    h_out, w_out, c_out = layers[-1].output_shape
    layers.append(LayerSpec("head_pool", "mean", (h_out, w_out, c_out), (c_out,)))
    layers.append(LayerSpec("classifier", "fc", (c_out,), (arch.num_classes,)))
    return layers
