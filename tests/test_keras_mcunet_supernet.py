"""Supernet: sandwich training, BN recalibration, extraction, checkpoints, tf.data input and strategies."""
import numpy as np
import pytest

from keras_mcunet import SearchSpace, Supernet
from keras_mcunet._tf import tf

# Two searched stages, every elastic dimension (kernel 3/5/7, expand 1/3/6, depths 1-2 and 2-3).
SPACE = SearchSpace(width_mults=(0.25,), resolutions=(16,), in_channels=1, num_classes=4,
                    expand_ratios=(1, 3, 6), stage_channels=(24, 40), stage_strides=(2, 1),
                    stage_depths=((1, 2), (2, 3)))


def _toy_data(n, seed=0, shape=(16, 16, 1)):
    """Four classes told apart by brightness and by which half of the image is lit."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    x = rng.normal(0, 0.5, (n, *shape)).astype(np.float32) + (y // 2)[:, None, None, None]
    x[:, : shape[0] // 2] += (y % 2)[:, None, None, None]
    return x, y


@pytest.fixture(scope="module")
def trained():
    x, y = _toy_data(512)
    net = Supernet(SPACE, seed=0)
    history = net.fit_supernet((x, y), epochs=3, batch_size=32, verbose=False)
    return net, history, (x, y)


def _archs():
    return [SPACE.max_arch(), SPACE.min_arch()] + [SPACE.sample(seed) for seed in range(4)]


def test_sandwich_training_reduces_loss(trained):
    net, history, (x, y) = trained
    assert history["epoch"] == [0, 1, 2]
    assert all(np.isfinite(history["loss"]))
    assert history["loss"][-1] < 0.8 * history["loss"][0]
    test = _toy_data(256, seed=1)
    for arch in (SPACE.max_arch(), SPACE.min_arch()):
        assert net.evaluate_arch(arch, test, x, batches=4) > 0.6     # chance is 0.25


def test_in_place_distillation_teaches_the_small_subnets_from_the_largest(trained):
    plain, _, (x, y) = trained
    net = Supernet(SPACE, seed=0)
    history = net.fit_supernet((x, y), epochs=3, batch_size=32, distill=True, verbose=False)
    assert history["epoch"] == [0, 1, 2] and all(np.isfinite(history["loss"]))
    test = _toy_data(256, seed=1)
    for arch in (SPACE.max_arch(), SPACE.min_arch()):
        assert net.evaluate_arch(arch, test, x, batches=4) > 0.5     # chance is 0.25
    # Same seed, data and sandwiches as the plain run: only the targets differ, and so do the weights.
    assert max(np.abs(a - b).max() for a, b in zip(net.get_weights(), plain.get_weights())) > 1e-3


def test_extracted_models_predict_like_the_supernet(trained):
    net, _, (x, _) = trained
    outputs = []
    for arch in _archs():
        model = net.extract(arch, calib_data=x, batches=4)
        expected = net.predict_arch(arch, x[:64])
        np.testing.assert_allclose(model.predict(x[:64], verbose=0), expected, atol=1e-4)
        outputs.append(expected)
    # Subnets really differ (different slices of the shared weights).
    assert min(np.abs(a - b).max() for i, a in enumerate(outputs) for b in outputs[i + 1:]) > 1e-3


def _transformed_centre(kernel, transform):
    """OFA's kernel transformation in NumPy: the k x k centre of `kernel`, each channel's k*k weights times
    `transform` (k*k, k*k)."""
    size, k = kernel.shape[0], int(round(transform.shape[0] ** 0.5))
    lo = (size - k) // 2
    centre = kernel[lo:lo + k, lo:lo + k, :, 0]                               # (k, k, C)
    flat = centre.reshape(k * k, -1).T @ transform                            # (C, k*k)
    return flat.T.reshape(k, k, -1)[..., None]


def test_extraction_transforms_kernel_centres_and_slices_first_channels(trained):
    net, _, (x, _) = trained
    arch = SPACE.make_arch([[3, 5], [7, 3]], [[1, 3], [6, 3]])
    model = net.extract(arch, calib_data=x, batches=2)
    shared = {w.name.split("/")[-1].split(":")[0]: w.numpy() for w in net.weights}
    block = "stage2_block1"                      # kernel 3 of the 7x7 (7 -> 5 -> 3), expand 3 of 6
    mid = model.get_layer(f"{block}_dw").depthwise_kernel.shape[2]
    for k in (5, 3):                             # training moved the transforms off their identity start
        assert np.abs(shared[f"{block}_dw.transform{k}"] - np.eye(k * k)).max() > 1e-3
    five = _transformed_centre(shared[f"{block}_dw.depthwise_kernel"], shared[f"{block}_dw.transform5"])
    three = _transformed_centre(five, shared[f"{block}_dw.transform3"])
    np.testing.assert_allclose(model.get_layer(f"{block}_dw").depthwise_kernel.numpy(), three[:, :, :mid],
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(model.get_layer(f"{block}_expand").kernel.numpy(),
                                  shared[f"{block}_expand.kernel"][..., :mid])
    assert mid < shared[f"{block}_expand.kernel"].shape[-1]
    names = [layer.name for layer in model.layers]
    assert "stage1_block0_expand" not in names            # expand ratio 1
    assert "stage2_block2_dw" not in names                 # depth 2 of 3


def test_recalibration_computes_batch_statistics(trained):
    net, _, (x, _) = trained
    arch = SPACE.min_arch()
    batch = x[:32]
    net.recalibrate_bn(arch, batch, batches=1, batch_size=32)
    kernel = [w for w in net.weights if "stem_conv.kernel" in w.name][0]
    stem = tf.nn.conv2d(batch, kernel, 2, "SAME")
    mean, var = tf.nn.moments(stem, axes=[0, 1, 2])
    model = net.extract(arch)
    bn = model.get_layer("stem_conv_bn")
    np.testing.assert_allclose(bn.moving_mean.numpy(), mean.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.numpy(), var.numpy(), rtol=1e-4, atol=1e-5)


def test_active_subnet_through_keras_call(trained):
    net, _, (x, _) = trained
    arch = SPACE.sample(11)
    net.recalibrate_bn(arch, x, batches=2)
    np.testing.assert_allclose(net(x[:8]).numpy(), net.predict_arch(arch, x[:8]), atol=1e-5)
    np.testing.assert_allclose(net.predict(x[:8], verbose=0), net.predict_arch(arch, x[:8]), atol=1e-5)


def test_supernet_errors(trained):
    net, _, (x, y) = trained
    fresh = Supernet(SPACE)
    with pytest.raises(ValueError, match="no active subnet"):
        fresh(x[:2])
    fresh.set_active(SPACE.max_arch())
    with pytest.raises(ValueError, match="recalibrate_bn"):
        fresh(x[:2])
    with pytest.raises(ValueError, match="recalibrate_bn"):
        fresh.extract(SPACE.max_arch())
    other = SearchSpace(width_mults=(0.5,), resolutions=(16,), in_channels=1, num_classes=4,
                        expand_ratios=(1, 3, 6), stage_channels=(24, 40), stage_strides=(2, 1),
                        stage_depths=((1, 2), (2, 3)))
    with pytest.raises(ValueError, match="not a subnet of this supernet: width_mult 0.5"):
        net.extract(other.max_arch(), calib_data=x)
    with pytest.raises(ValueError, match="width_mult must be given"):
        Supernet(SearchSpace())
    with pytest.raises(ValueError, match="resolution 20 is not in"):
        Supernet(SPACE, resolution=20)
    bad_calls = [
        (lambda: net.fit_supernet((x, y), epochs=-1), "epochs must be an int >= 0"),
        (lambda: net.fit_supernet((x, y), steps_per_epoch=0), "steps_per_epoch must be an int >= 1"),
        (lambda: net.fit_supernet((x, y), num_random=-2), "num_random"),
        (lambda: net.fit_supernet((x, y), batch_size=0), "batch_size"),
        (lambda: net.fit_supernet(x, epochs=1), "labels are needed"),
        (lambda: net.fit_supernet((x[:, :8], y)), r"inputs have shape \(8, 16, 1\)"),
        (lambda: net.fit_supernet((x, y.astype(np.float32))), "integer class ids"),
        (lambda: net.fit_supernet((x, y[:10])), "512 inputs but 10 labels"),
        (lambda: net.fit_supernet(tf.data.Dataset.from_tensor_slices((x, y)).repeat()), "steps_per_epoch is needed"),
        (lambda: net.fit_supernet((x[:4], y[:4]), batch_size=32), "less than one batch"),
        (lambda: net.recalibrate_bn(SPACE.max_arch(), x, batches=0), "batches must be an int >= 1"),
        (lambda: net.evaluate_arch(SPACE.max_arch(), "data", x), "expected a tf.data.Dataset"),
    ]
    for call, message in bad_calls:
        with pytest.raises(ValueError, match=message):
            call()


def test_checkpoints_resume_from_the_latest_epoch(tmp_path):
    x, y = _toy_data(128)
    first = Supernet(SPACE, seed=0)
    assert first.fit_supernet((x, y), epochs=1, checkpoint_dir=tmp_path, verbose=False)["epoch"] == [0]
    resumed = Supernet(SPACE, seed=1)
    assert not np.allclose(resumed.weights[0].numpy(), first.weights[0].numpy())
    # Epoch 1 of 1 is already saved: nothing to train, weights restored.
    assert resumed.fit_supernet((x, y), epochs=1, checkpoint_dir=tmp_path, verbose=False)["epoch"] == []
    for a, b in zip(first.weights, resumed.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    history = resumed.fit_supernet((x, y), epochs=2, checkpoint_dir=tmp_path, verbose=False)
    assert history["epoch"] == [1]
    assert sorted(p.name for p in tmp_path.glob("ckpt-*.index")) == ["ckpt-1.index", "ckpt-2.index"]
    wider = Supernet(SearchSpace(**{**SPACE.__dict__, "width_mults": (0.5,)}))
    with pytest.raises(ValueError, match="does not match this supernet"):
        wider.fit_supernet((x, y), epochs=3, checkpoint_dir=tmp_path, verbose=False)


def test_tf_data_input_under_a_one_device_strategy():
    x, y = _toy_data(96)
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    net = Supernet(SPACE, strategy=strategy)
    assert net.strategy is strategy
    before = [w.numpy() for w in net.trainable_weights]
    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(96, seed=0).batch(16).repeat()
    history = net.fit_supernet(ds, epochs=2, steps_per_epoch=3, num_random=1, verbose=False)
    assert history["epoch"] == [0, 1] and all(np.isfinite(history["loss"]))
    assert any(not np.allclose(a, w.numpy()) for a, w in zip(before, net.trainable_weights))
    unbatched_x = tf.data.Dataset.from_tensor_slices(x)
    accuracy = net.evaluate_arch(SPACE.min_arch(), tf.data.Dataset.from_tensor_slices((x, y)).batch(32),
                                 unbatched_x, batches=2)
    assert 0.0 <= accuracy <= 1.0


def test_paper_space_supernet_extracts_exactly():
    space = SearchSpace(in_channels=1, num_classes=10)
    net = Supernet(space, width_mult=0.2, resolution=48)
    assert net.space.width_mults == (0.2,) and net.space.resolutions == (48,)
    arch = net.space.sample(5)
    x = np.random.default_rng(0).normal(size=(32, 48, 48, 1)).astype(np.float32)
    model = net.extract(arch, calib_data=x, batches=1)
    assert model.output_shape == (None, 10)
    np.testing.assert_allclose(model.predict(x[:8], verbose=0), net.predict_arch(arch, x[:8]), atol=1e-4)
