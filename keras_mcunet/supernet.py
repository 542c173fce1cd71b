"""A weight-sharing supernet holding every subnet of a search space at one width multiplier and resolution
(MCUNet / Once-for-All): elastic kernel size (a smaller depthwise kernel is the centre of the next larger one
through a learned linear map, OFA's kernel transformation), elastic expand ratio (the first channels of the
expanded layer) and elastic depth (the first blocks of a stage).

Subnets are selected with masks rather than by slicing, so one traced graph serves every subnet: a block is
fed an int32 code (kernel size, expanded channels, active, uses its expand conv). A kxk kernel zero-padded to
KxK under SAME padding computes exactly the kxk convolution (TF pads SAME so that the window
centre does not depend on the kernel size), masked channels are zero after every activation, and a dropped
block only adds zero to its residual. The price is that each step computes the largest subnet's shapes.

Batch norm normalizes with batch statistics in training. For inference a subnet needs its own statistics,
recomputed by recalibrate_bn on a few batches of training data (as OFA does); they are kept per arch.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from tinyengine_tflite.arguments import check_count

from ._tf import keras, tf
from .arch_graph import BlockSpec, arch_blocks, stem_spec
from .data import as_dataset, known_length
from .model_builder import BN_EPSILON, build_model
from .search_space import ArchConfig, Resolution, SearchSpace

# Columns of a block's code.
_KERNEL, _MID, _ACTIVE, _EXPAND = range(4)


@dataclass(frozen=True)
class ArchScore:
    """A subnet's supernet score on some labelled data: top-1 accuracy and mean cross-entropy (nats)."""
    accuracy: float
    loss: float


@dataclass(frozen=True)
class _Slot:
    """A block position of the largest subnet; its shared weights have the largest subnet's sizes."""
    block: BlockSpec        # the block as it is in the largest subnet
    has_expand: bool        # some choice has an expand conv (ratio > 1)
    can_bypass: bool        # some choice has none (ratio 1)
    skippable: bool         # elastic depth may drop it

    @property
    def name(self) -> str:
        return self.block.name


class _PythonState:
    """Python-side state kept out of Keras' attribute tracking (and so out of checkpoints): dicts keyed by
    ArchConfig cannot be tracked, and the optimizer is checkpointed on its own."""

    def __init__(self):
        self.bn_stats: dict[ArchConfig, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
        self.active: ArchConfig | None = None
        self.optimizer = None
        self.train_step = None


class Supernet(keras.Model):
    """Every subnet of `space` at width multiplier `width_mult` and resolution `resolution` (either may be left
    out when the space has one choice), sharing weights. Variables are created under `strategy.scope()`.

    Typical use: fit_supernet(...), then evaluate_arch(arch, val, calib) to rank subnets, then extract(arch)."""

    def __init__(self, space: SearchSpace, width_mult: float | None = None, resolution: Resolution | None = None,
                 strategy: tf.distribute.Strategy | None = None, seed: int = 0, name: str = "supernet"):
        super().__init__(name=name)
        if not isinstance(space, SearchSpace):
            raise ValueError(f"Supernet expects a SearchSpace, got {type(space).__name__}")
        width_mult = space._pick(space.width_mults, width_mult, "width_mult")
        resolution = space._pick(space.resolutions, resolution, "resolution")
        self._space = space.subspace(width_mult=width_mult, resolution=resolution)
        self._strategy = strategy or tf.distribute.get_strategy()
        largest = self._space.max_arch()
        self._input_shape = largest.input_shape
        self._stem_channels = stem_spec(largest)[0]
        min_depths = [min(d) for d in self._space.stage_depths]
        ratios = self._space.expand_ratios
        self._slots = tuple(
            _Slot(b, has_expand=b.stage > 0 and max(ratios) > 1, can_bypass=b.stage == 0 or 1 in ratios,
                  skippable=b.stage > 0 and b.index >= min_depths[b.stage - 1])
            for b in arch_blocks(largest))
        self._state = _PythonState()
        with self._strategy.scope():
            self._create_weights(largest, seed)
        self._infer_fn = tf.function(lambda x: self._forward(x, self._active_code, training=False),
                                     input_signature=[self._x_spec()])
        self._moments_fn = tf.function(self._batch_moments, input_signature=[self._x_spec(), self._code_spec()])

    # --- weights --------------------------------------------------------------------------------------------
    def _create_weights(self, largest: ArchConfig, seed: int):
        self._w = {}

        def weight(name, shape, init, trainable=True):
            self._w[name] = self.add_weight(name=name, shape=shape, initializer=init, trainable=trainable)

        def conv_init():   # He init over fan-out as OFA; a seed per tensor so equal shapes differ
            return keras.initializers.VarianceScaling(2.0, "fan_out", "truncated_normal", seed=seed + len(self._w))

        def conv_bn(name, shape, depthwise=False):
            weight(f"{name}.depthwise_kernel" if depthwise else f"{name}.kernel", shape, conv_init())
            channels = shape[-2] if depthwise else shape[-1]
            for param, init, trainable in (("gamma", "ones", True), ("beta", "zeros", True),
                                           ("moving_mean", "zeros", False), ("moving_variance", "ones", False)):
                weight(f"{name}_bn.{param}", (channels,), init, trainable)

        conv_bn("stem_conv", (3, 3, largest.in_channels, self._stem_channels))
        for slot in self._slots:
            b = slot.block
            if slot.has_expand:
                conv_bn(f"{b.name}_expand", (1, 1, b.in_channels, b.mid_channels))
            conv_bn(f"{b.name}_dw", (b.kernel_size, b.kernel_size, b.mid_channels, 1), depthwise=True)
            for small, _ in self._kernel_steps(b.kernel_size):   # starts as the plain centre (identity)
                weight(f"{b.name}_dw.transform{small}", (small * small, small * small), "identity")
            conv_bn(f"{b.name}_project", (1, 1, b.mid_channels, b.out_channels))
        last = self._slots[-1].block.out_channels
        weight("classifier.kernel", (last, largest.num_classes), keras.initializers.GlorotUniform(seed=seed))
        weight("classifier.bias", (largest.num_classes,), "zeros")
        self._active_code = tf.Variable(self.encode(largest), trainable=False, name="active_code")

    # --- subnet codes ---------------------------------------------------------------------------------------
    @property
    def space(self) -> SearchSpace:
        """The search space with this supernet's W and R fixed."""
        return self._space

    @property
    def strategy(self) -> tf.distribute.Strategy:
        return self._strategy

    def _x_spec(self) -> tf.TensorSpec:
        return tf.TensorSpec([None, *self._input_shape], tf.float32)

    def _code_spec(self) -> tf.TensorSpec:
        return tf.TensorSpec([len(self._slots), 4], tf.int32)

    def _check_arch(self, arch: ArchConfig) -> ArchConfig:
        try:
            return self._space.validate(arch)
        except ValueError as e:
            raise ValueError(f"arch is not a subnet of this supernet: {e}") from None

    def encode(self, arch: ArchConfig) -> np.ndarray:
        """The int32 code (one row per block position: kernel size, expanded channels, active, uses its expand
        conv) that selects `arch` in the masked graph."""
        self._check_arch(arch)
        blocks = {b.name: b for b in arch_blocks(arch)}
        code = np.zeros((len(self._slots), 4), np.int32)
        for i, slot in enumerate(self._slots):
            b = blocks.get(slot.name, slot.block)   # a dropped block keeps the largest sizes, unused
            code[i] = (b.kernel_size, b.mid_channels, slot.name in blocks, b.has_expand)
        return code

    # --- forward --------------------------------------------------------------------------------------------
    def _bn(self, x, name: str, training: bool, moments: dict | None):
        gamma, beta = self._w[f"{name}.gamma"], self._w[f"{name}.beta"]
        if training:
            mean, var = tf.nn.moments(x, axes=[0, 1, 2])
            if moments is not None:
                moments[name] = (mean, var)
        else:
            mean, var = self._w[f"{name}.moving_mean"], self._w[f"{name}.moving_variance"]
        return tf.nn.batch_normalization(x, mean, var, beta, gamma, BN_EPSILON)

    def _kernel_steps(self, largest: int) -> list[tuple[int, int]]:
        """(smaller, larger) pairs of consecutive kernel sizes below `largest`, larger first: 7 -> 5 -> 3."""
        sizes = sorted((k for k in self._space.kernel_sizes if k <= largest), reverse=True)
        return [(small, large) for large, small in zip(sizes, sizes[1:])]

    def _dw_kernels(self, name: str, largest: int) -> dict:
        """{k: the k x k depthwise kernel zero-padded to largest x largest} for every kernel size of the space.
        As OFA, the k x k kernel is the centre of the next larger one times a learned (k*k, k*k) matrix, shared
        by the block's channels: a plain centre crop would make every size share one set of weights."""
        kernels = {largest: self._w[f"{name}_dw.depthwise_kernel"]}
        current = kernels[largest]
        for small, large in self._kernel_steps(largest):
            lo = (large - small) // 2
            centre = tf.transpose(current[lo:lo + small, lo:lo + small, :, 0], [2, 0, 1])      # (C, k, k)
            flat = tf.matmul(tf.reshape(centre, [-1, small * small]), self._w[f"{name}_dw.transform{small}"])
            current = tf.transpose(tf.reshape(flat, [-1, small, small]), [1, 2, 0])[..., None]
            pad = (largest - small) // 2
            kernels[small] = tf.pad(current, [[pad, pad], [pad, pad], [0, 0], [0, 0]])
        return kernels

    def _dw_kernel(self, name: str, largest: int, k):
        """The depthwise kernel for kernel size `k` (an int32 tensor), padded to largest x largest."""
        return tf.add_n([kernel * tf.cast(tf.equal(k, size), tf.float32)
                         for size, kernel in self._dw_kernels(name, largest).items()])

    def _block(self, x, slot: _Slot, code, training: bool, moments: dict | None):
        b, n = slot.block, slot.name
        channel_mask = tf.cast(tf.range(b.mid_channels) < code[_MID], tf.float32)
        h = x
        if slot.has_expand:
            h = tf.nn.conv2d(x, self._w[f"{n}_expand.kernel"], 1, "SAME")
            h = tf.nn.relu6(self._bn(h, f"{n}_expand_bn", training, moments))
            if slot.can_bypass:   # expand ratio 1 feeds the input itself to the depthwise conv
                bypass = tf.pad(x, [[0, 0], [0, 0], [0, 0], [0, b.mid_channels - b.in_channels]])
                h = tf.where(code[_EXPAND] > 0, h, bypass)
        h = h * channel_mask
        kernel = self._dw_kernel(n, b.kernel_size, code[_KERNEL])
        h = tf.nn.depthwise_conv2d(h, kernel, [1, b.stride, b.stride, 1], "SAME")
        h = tf.nn.relu6(self._bn(h, f"{n}_dw_bn", training, moments)) * channel_mask
        h = tf.nn.conv2d(h, self._w[f"{n}_project.kernel"], 1, "SAME")
        h = self._bn(h, f"{n}_project_bn", training, moments)
        if not b.residual:
            return h
        return x + h * tf.cast(code[_ACTIVE], tf.float32) if slot.skippable else x + h

    def _forward(self, x, code, training: bool, moments: dict | None = None):
        x = tf.nn.conv2d(x, self._w["stem_conv.kernel"], 2, "SAME")
        x = tf.nn.relu6(self._bn(x, "stem_conv_bn", training, moments))
        for i, slot in enumerate(self._slots):
            x = self._block(x, slot, code[i], training, moments)
        x = tf.reduce_mean(x, axis=[1, 2])
        return tf.matmul(x, self._w["classifier.kernel"]) + self._w["classifier.bias"]

    def _batch_moments(self, x, code):
        moments = {}
        self._forward(x, code, training=True, moments=moments)
        return moments

    def call(self, inputs, training=None):
        """Logits of the active subnet (set_active). Inference needs its recalibrated BN statistics."""
        if self._state.active is None:
            raise ValueError("no active subnet: call set_active(arch) first")
        if not training and self._state.active not in self._state.bn_stats:
            raise ValueError("the active subnet has no BN statistics: call recalibrate_bn(arch, data) first")
        return self._forward(tf.cast(inputs, tf.float32), self._active_code, training=bool(training))

    # --- active subnet and batch norm -----------------------------------------------------------------------
    def set_active(self, arch: ArchConfig) -> None:
        """Make `arch` the subnet that call() runs; loads its BN statistics if it was recalibrated."""
        self._active_code.assign(self.encode(arch))
        self._state.active = arch
        for name, (mean, var) in self._state.bn_stats.get(arch, {}).items():
            self._w[f"{name}.moving_mean"].assign(mean)
            self._w[f"{name}.moving_variance"].assign(var)
        # Keras caches traced predict/evaluate functions; they read the variables, but drop them anyway so a
        # changed active subnet can never be served by a stale trace.
        self.predict_function = self.test_function = None

    def recalibrate_bn(self, arch: ArchConfig, data, batches: int = 10, batch_size: int = 32) -> None:
        """Recompute `arch`'s BN statistics on up to `batches` batches of `data` (inputs, labels ignored) as
        OFA does: per layer, the batch means and variances averaged over the batches. Makes `arch` active."""
        code = tf.constant(self.encode(arch))
        batches = check_count(batches, "batches")
        ds = as_dataset(data, batch_size, labels=False, input_shape=self._input_shape, what="calibration data")
        sums, count = {}, 0
        for x in ds.take(batches):
            n = int(x.shape[0])
            for name, (mean, var) in self._moments_fn(x, code).items():
                m, v = sums.get(name, (0.0, 0.0))
                sums[name] = (m + mean.numpy() * n, v + var.numpy() * n)
            count += n
        if count == 0:
            raise ValueError("calibration data is empty")
        self._state.bn_stats[arch] = {name: (m / count, v / count) for name, (m, v) in sums.items()}
        self.set_active(arch)

    # --- inference ------------------------------------------------------------------------------------------
    def _require_stats(self, arch: ArchConfig) -> None:
        if arch not in self._state.bn_stats:
            raise ValueError("this subnet has no BN statistics: call recalibrate_bn(arch, data) first "
                             "(or pass calib_data)")

    def predict_arch(self, arch: ArchConfig, x, batch_size: int = 64) -> np.ndarray:
        """Logits of subnet `arch` (recalibrated before) on inputs `x` (array or dataset), inference mode."""
        self._check_arch(arch)
        self._require_stats(arch)
        self.set_active(arch)
        ds = as_dataset(x, batch_size, labels=False, input_shape=self._input_shape, what="x")
        return np.concatenate([self._infer_fn(xb).numpy() for xb in ds])

    def score_arch(self, arch: ArchConfig, data, calib_data, batches: int = 10, batch_size: int = 64) -> ArchScore:
        """Top-1 accuracy and mean cross-entropy of `arch` on `data` ((x, y) or a dataset of them) after
        recalibrating its BN statistics on `batches` batches of `calib_data`."""
        self.recalibrate_bn(arch, calib_data, batches, batch_size)
        ds = as_dataset(data, batch_size, input_shape=self._input_shape, what="evaluation data")
        correct = total = 0
        loss = 0.0
        for xb, yb in ds:
            logits = self._infer_fn(xb)
            predicted = tf.argmax(logits, axis=-1, output_type=tf.int32)
            correct += int(tf.reduce_sum(tf.cast(predicted == tf.cast(yb, tf.int32), tf.int32)))
            loss += float(tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(tf.cast(yb, tf.int32),
                                                                                       logits)))
            total += int(yb.shape[0])
        if total == 0:
            raise ValueError("evaluation data is empty")
        return ArchScore(correct / total, loss / total)

    def evaluate_arch(self, arch: ArchConfig, data, calib_data, batches: int = 10,
                      batch_size: int = 64) -> float:
        """Top-1 accuracy of `arch` on `data` (score_arch's accuracy)."""
        return self.score_arch(arch, data, calib_data, batches, batch_size).accuracy

    # --- extraction -----------------------------------------------------------------------------------------
    def extract(self, arch: ArchConfig, calib_data=None, batches: int = 10, batch_size: int = 32) -> keras.Model:
        """A standalone build_model(arch) with the shared weights sliced out (transformed kernel centres, first
        channels, first blocks) and arch's recalibrated BN statistics (recalibrated now when calib_data is given)."""
        self._check_arch(arch)
        if calib_data is not None:
            self.recalibrate_bn(arch, calib_data, batches, batch_size)
        self._require_stats(arch)
        stats = self._state.bn_stats[arch]
        w = {k: v.numpy() for k, v in self._w.items()}
        model = build_model(arch)
        assigned = set()

        def put(layer_name, weights):
            model.get_layer(layer_name).set_weights(weights)
            assigned.add(layer_name)

        def put_conv_bn(name, kernel, channels):
            put(name, [kernel])
            bn = f"{name}_bn"
            put(bn, [w[f"{bn}.gamma"][:channels], w[f"{bn}.beta"][:channels],
                     stats[bn][0][:channels], stats[bn][1][:channels]])

        put_conv_bn("stem_conv", w["stem_conv.kernel"], self._stem_channels)
        slots = {s.name: s for s in self._slots}
        for b in arch_blocks(arch):
            kmax, mid = slots[b.name].block.kernel_size, b.mid_channels
            if b.has_expand:
                put_conv_bn(f"{b.name}_expand", w[f"{b.name}_expand.kernel"][..., :mid], mid)
            lo = (kmax - b.kernel_size) // 2
            padded = self._dw_kernels(b.name, kmax)[b.kernel_size].numpy()
            dw = padded[lo:lo + b.kernel_size, lo:lo + b.kernel_size, :mid]
            put_conv_bn(f"{b.name}_dw", dw, mid)
            put_conv_bn(f"{b.name}_project", w[f"{b.name}_project.kernel"][:, :, :mid], b.out_channels)
        put("classifier", [w["classifier.kernel"], w["classifier.bias"]])
        missed = [layer.name for layer in model.layers if layer.weights and layer.name not in assigned]
        if missed:
            raise RuntimeError(f"extract left layers without supernet weights: {missed}")
        return model

    # --- training -------------------------------------------------------------------------------------------
    def _train_step(self, distill: bool):
        """The traced step: sums the gradients of the subnets whose codes are stacked on axis 0 (a while loop,
        so the graph holds one forward and backward pass whatever their number), then applies them once.
        With `distill` (in-place distillation, as BigNAS and OFA), the first subnet (the largest) learns from
        the labels and the others from its softened predictions, which carry more signal than one-hot labels
        and pull the shared weights towards one consistent function."""
        if self._state.train_step is not None and self._state.train_step[0] == distill:
            return self._state.train_step[1]
        hard = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="none")
        soft = keras.losses.CategoricalCrossentropy(from_logits=True, reduction="none")
        variables = self.trainable_variables

        def replica_step(x, y, codes):
            def pass_of(i, target_of_logits):
                with tf.GradientTape() as tape:
                    logits = self._forward(x, codes[i], training=True)
                    loss = tf.nn.compute_average_loss(target_of_logits(logits))
                return logits, loss, tape.gradient(loss, variables)

            def labels(logits):
                return hard(y, logits)

            teacher_logits, first_loss, first_grads = pass_of(0, labels)
            teacher = tf.stop_gradient(tf.nn.softmax(teacher_logits))
            target = (lambda logits: soft(teacher, logits)) if distill else labels

            def one_subnet(i, total, grads):
                _, loss, new = pass_of(i, target)
                return i + 1, total + loss, [g if n is None else g + n for g, n in zip(grads, new)]

            count = tf.shape(codes)[0]
            _, total, grads = tf.while_loop(
                lambda i, *_: i < count, one_subnet,
                (1, first_loss, [tf.zeros_like(v) if g is None else g for g, v in zip(first_grads, variables)]))
            self._state.optimizer.apply_gradients(zip(grads, variables))
            return total / tf.cast(count, tf.float32)

        @tf.function
        def step(x, y, codes):
            losses = self._strategy.run(replica_step, args=(x, y, codes))
            return self._strategy.reduce(tf.distribute.ReduceOp.SUM, losses, axis=None)

        self._state.train_step = (distill, step)
        return step

    def _sandwich(self, rng: random.Random, num_random: int) -> np.ndarray:
        archs = [self._space.max_arch(), self._space.min_arch()]
        archs += [self._space.sample(rng) for _ in range(num_random)]
        return np.stack([self.encode(a) for a in archs])

    def fit_supernet(self, data, epochs: int = 1, steps_per_epoch: int | None = None, *, batch_size: int = 32,
                     optimizer: keras.optimizers.Optimizer | None = None, num_random: int = 2,
                     checkpoint_dir: str | None = None, max_checkpoints: int = 3, seed: int = 0,
                     distill: bool = False, verbose: bool = True) -> dict:
        """Train with the sandwich rule: each step sums the gradients of the largest, the smallest and
        `num_random` random subnets on one batch, then applies them once. With `distill` the smaller ones
        learn from the largest one's predictions instead of the labels (in-place distillation; search() uses it).

        data: (x, y) numpy arrays (shuffled, batched by batch_size) or a tf.data.Dataset of (x, y).
        steps_per_epoch: batches per epoch; by default one pass over data (which must then be finite).
        optimizer: default Adam(1e-3); make it under supernet.strategy.scope() with a non-default strategy.
        checkpoint_dir: saves weights, optimizer and epoch after each epoch; a later call resumes after the
        latest saved epoch (epochs counts the total). Returns {"epoch": [...], "loss": [mean loss ...]}."""
        epochs = check_count(epochs, "epochs", minimum=0)
        num_random = check_count(num_random, "num_random", minimum=0)
        max_checkpoints = check_count(max_checkpoints, "max_checkpoints")
        ds = as_dataset(data, batch_size, input_shape=self._input_shape, shuffle=True, drop_remainder=True,
                        seed=seed, what="training data")
        if steps_per_epoch is None:
            steps = known_length(ds)
            if steps is None:
                raise ValueError("steps_per_epoch is needed: the training dataset's length is unknown or infinite")
            if steps == 0:
                raise ValueError(f"training data holds less than one batch of {batch_size}")
        else:
            steps = check_count(steps_per_epoch, "steps_per_epoch")
            ds = ds.repeat().take(steps)
        with self._strategy.scope():
            if optimizer is not None:
                self._state.optimizer = optimizer
                self._state.train_step = None
            elif self._state.optimizer is None:
                self._state.optimizer = keras.optimizers.Adam(1e-3)
            self._state.optimizer.build(self.trainable_variables)
            epoch_counter = tf.Variable(0, dtype=tf.int64, trainable=False)
        manager = None
        if checkpoint_dir is not None:
            ckpt = tf.train.Checkpoint(supernet=self, optimizer=self._state.optimizer, epoch=epoch_counter)
            manager = tf.train.CheckpointManager(ckpt, str(checkpoint_dir), max_to_keep=max_checkpoints)
            if manager.latest_checkpoint:
                try:
                    ckpt.restore(manager.latest_checkpoint).assert_existing_objects_matched()
                except (AssertionError, ValueError) as e:
                    raise ValueError(f"the checkpoint {manager.latest_checkpoint} does not match this supernet "
                                     f"and optimizer: {e}") from None
        step = self._train_step(bool(distill))
        history = {"epoch": [], "loss": []}
        for epoch in range(int(epoch_counter.numpy()), epochs):
            rng = random.Random(seed * 1_000_003 + epoch)
            total = 0.0
            with tqdm(total=steps, desc=f"supernet epoch {epoch + 1}/{epochs}", disable=not verbose) as bar:
                for i, (x, y) in enumerate(self._strategy.experimental_distribute_dataset(ds), start=1):
                    total += float(step(x, y, tf.constant(self._sandwich(rng, num_random))))
                    bar.update(1)
                    bar.set_postfix(loss=f"{total / i:.4f}")
            history["epoch"].append(epoch)
            history["loss"].append(total / steps)
            if manager is not None:
                epoch_counter.assign(epoch + 1)
                manager.save(checkpoint_number=epoch + 1)
        return history
