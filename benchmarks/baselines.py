"""The hand-designed baselines as ArchConfigs of MCUNet's block space (so the exact profiler and the TFLM memory
model measure them like any searched subnet), and their scaling to the largest that fits memory limits.

    MobileNetV2   its block layout: expand 6, 3x3 kernels, depths 2-3-4-3-3-1 after the fixed first block,
                  channels 24-32-64-96-160-320 (no 1280-channel head), scaled by width W and resolution R
    DS-CNN        the MLPerf Tiny KWS reference's layout: a stride-2 stem of 64 channels and four depthwise-
                  separable blocks of 64 channels, scaled by W; in this block space the stem is 3x3 (the
                  reference's is 10x4), the blocks are expand-1 MBConv (no ReLU after the pointwise conv) and the
                  three blocks with equal in/out channels carry residual adds
"""
from __future__ import annotations

from keras_mcunet import ArchConfig
from keras_mcunet.profiler import profile as profile_arch

MOBILENETV2 = dict(stage_channels=(24, 32, 64, 96, 160, 320), stage_strides=(2, 2, 2, 1, 2, 1),
                   depths=(2, 3, 4, 3, 3, 1), kernel=3, expand=6)
DS_CNN_CHANNELS = 64


def mobilenetv2_arch(width_mult: float, resolution, num_classes: int, in_channels: int) -> ArchConfig:
    m = MOBILENETV2
    return ArchConfig(width_mult, resolution, ks=[[m["kernel"]] * d for d in m["depths"]],
                      expand=[[m["expand"]] * d for d in m["depths"]], in_channels=in_channels,
                      num_classes=num_classes, stage_channels=m["stage_channels"], stage_strides=m["stage_strides"])


def ds_cnn_arch(width_mult: float, resolution, num_classes: int, in_channels: int) -> ArchConfig:
    c = DS_CNN_CHANNELS
    return ArchConfig(width_mult, resolution, ks=[[3] * 3], expand=[[1] * 3], in_channels=in_channels,
                      num_classes=num_classes, stem_channels=c, first_block_channels=c, stage_channels=(c,),
                      stage_strides=(1,))


class NoBaselineFits(ValueError):
    """No scaling of a baseline in the grid fits the limits."""


BASELINES = {"MobileNetV2": mobilenetv2_arch, "DS-CNN": ds_cnn_arch}


def largest_fitting(make, width_mults, resolutions, limits, num_classes: int, in_channels: int) -> ArchConfig:
    """The (W, R) of the grid whose `make(W, R, ...)` fits `limits` (a tuner Limits: its memory model decides)
    with the most MACs (ties: the higher resolution). NoBaselineFits (a ValueError) when none fits."""
    fitting = [a for a in (make(w, r, num_classes, in_channels) for w in width_mults for r in resolutions)
               if limits.check(a)[0]]
    if not fitting:
        name = next((k for k, v in BASELINES.items() if v is make), make.__name__)
        raise NoBaselineFits(f"no {name} of the grid fits {limits.describe()} (W in {list(width_mults)}, "
                             f"R in {list(resolutions)})")
    return max(fitting, key=lambda a: (profile_arch(a).macs, a.resolution if isinstance(a.resolution, int)
                                       else a.resolution[0] * a.resolution[1]))
