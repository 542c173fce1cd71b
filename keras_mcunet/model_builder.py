"""build_model: a standalone tf_keras functional model of one subnet.

Layer names follow arch_graph (stem_conv, stage{i}_block{j}_expand / _dw / _project, each conv followed by a
batch norm named <conv>_bn, head_pool, classifier), which is how the supernet copies its weights in."""
from __future__ import annotations

from ._tf import keras
from .arch_graph import BlockSpec, arch_blocks, stem_spec
from .search_space import ArchConfig

# Keras' default; the supernet normalizes with the same epsilon so extracted models predict the same.
BN_EPSILON = 1e-3
# PyTorch's default (momentum=0.1 there), which MCUNet and OFA train with. Keras' 0.99 leaves the moving statistics
# far from the data after the few hundred steps of a small data set: a MobileNetV2 trained 14 epochs on 720 images
# reached 98% training accuracy yet predicted one class for every image in inference mode.
BN_MOMENTUM = 0.9


def _bn_relu6(x, name: str, activation: bool = True):
    x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=f"{name}_bn")(x)
    return keras.layers.ReLU(6.0, name=f"{name}_relu")(x) if activation else x


def _mbconv(x, b: BlockSpec):
    shortcut = x
    if b.has_expand:
        x = keras.layers.Conv2D(b.mid_channels, 1, padding="same", use_bias=False, name=f"{b.name}_expand")(x)
        x = _bn_relu6(x, f"{b.name}_expand")
    x = keras.layers.DepthwiseConv2D(b.kernel_size, strides=b.stride, padding="same", use_bias=False,
                                     name=f"{b.name}_dw")(x)
    x = _bn_relu6(x, f"{b.name}_dw")
    x = keras.layers.Conv2D(b.out_channels, 1, padding="same", use_bias=False, name=f"{b.name}_project")(x)
    x = _bn_relu6(x, f"{b.name}_project", activation=False)
    if b.residual:
        x = keras.layers.Add(name=f"{b.name}_add")([shortcut, x])
    return x


def build_model(arch: ArchConfig, name: str = "mcunet") -> keras.Model:
    """The subnet `arch` as a functional model: NHWC input arch.input_shape, logits output (no softmax)."""
    if not isinstance(arch, ArchConfig):
        raise ValueError(f"build_model expects an ArchConfig, got {type(arch).__name__}")
    inputs = keras.Input(shape=arch.input_shape, name="input")
    stem_channels, _ = stem_spec(arch)
    x = keras.layers.Conv2D(stem_channels, 3, strides=2, padding="same", use_bias=False, name="stem_conv")(inputs)
    x = _bn_relu6(x, "stem_conv")
    for block in arch_blocks(arch):
        x = _mbconv(x, block)
    x = keras.layers.GlobalAveragePooling2D(name="head_pool")(x)
    outputs = keras.layers.Dense(arch.num_classes, name="classifier")(x)
    return keras.Model(inputs, outputs, name=name)
