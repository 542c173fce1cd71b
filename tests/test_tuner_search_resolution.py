"""Search data as a user passes it: by default the search never picks a resolution above the data's own, and the
returned model records the resizing it used, which quantize / export_tflite / evaluate_tflite apply to data of
another size (with a warning), so the data that went into search() work unchanged downstream."""
import json
import warnings

import numpy as np
import pytest

import keras_mcunet as km
from keras_mcunet._tf import tf
from keras_mcunet.resizing import InputResizing, resize_inputs
from tuner import SearchConfig, SpaceConfig
from tuner.pipeline import resolutions_up_to, stage1_space

# A small space (one 3x3 block per stage, narrow stages) with the paper's default resolutions, so the capping under
# test applies and the downstream conversions stay quick.
SMALL_SPACE = km.SearchSpace(kernel_sizes=(3,), expand_ratios=(3,), stage_depths=((1,),) * 6,
                             stage_channels=(8, 16, 16, 24, 24, 32))
TINY = dict(space=SMALL_SPACE, width_mults=(0.2,), space_samples=10, supernet_epochs=1, supernet_steps_per_epoch=2, population_size=2,
            generations=0, calibration_batches=1, batch_size=16, finetune_epochs=1, verbose=0)


def _images(n: int, side: int, seed: int = 0):
    """Three classes of noisy images whose mean brightness differs."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = (rng.random((n, side, side, 3)) * 0.5 + y[:, None, None, None] * 0.25).astype(np.float32)
    return x, y


def test_default_resolutions_never_exceed_the_data():
    assert resolutions_up_to((48, 64, 80), (64, 64)) == (48, 64)
    assert resolutions_up_to((48, 64, 80), (32, 32)) == (32,)                 # none fits: the data's own
    assert resolutions_up_to((48, (49, 10)), (49, 10)) == ((49, 10),)
    assert resolutions_up_to((48,), (40, 30)) == ((40, 30),)
    config = SearchConfig(num_classes=3)
    assert stage1_space(config, (32, 32, 3)).resolutions == (32,)
    assert stage1_space(config, (100, 100, 3)).resolutions == (48, 64, 80, 96)
    # resolutions asked for (as an argument or on the space) are used as given, upsampling included
    asked = SearchConfig(num_classes=3, space=SpaceConfig(resolutions=(64, 96)))
    assert stage1_space(asked, (32, 32, 3)).resolutions == (64, 96)
    own = SearchConfig(num_classes=3, space=SpaceConfig(base=km.SearchSpace(resolutions=(48,))))
    assert stage1_space(own, (32, 32, 3)).resolutions == (48,)


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    directory = tmp_path_factory.mktemp("resolution")
    train, val = _images(96, 32), _images(48, 32, seed=1)
    model = km.search(train, val, num_classes=3, directory=str(directory), project_name="p", **TINY)
    return model, directory / "p", train, val


def test_search_on_32x32_data_picks_at_most_32_and_records_the_resizing(searched):
    model, project, (x, _), _ = searched
    arch = km.ArchConfig.from_dict(json.loads((project / "best_arch.json").read_text())["arch"])
    assert arch.resolution == 32
    assert tuple(model.input_shape[1:]) == x.shape[1:]
    assert model.input_resizing == InputResizing((32, 32), (32, 32), "bilinear")
    info = json.loads((project / "best_model.json").read_text())
    assert InputResizing.from_dict(info["input_resizing"]) == model.input_resizing
    again = km.search(*searched[2:], num_classes=3, directory=str(project.parent), project_name="p", **TINY)
    assert again.input_resizing == model.input_resizing                     # a finished search loads it too


def test_the_users_data_work_downstream_and_other_sizes_are_resized_with_a_warning(searched):
    model, _, (x, y), (x_val, y_val) = searched
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        flatbuffer = km.export_tflite(model, None, x, num_samples=16)
        accuracy = km.evaluate_tflite(flatbuffer, x_val, y_val)
    assert not [w for w in caught if "resizing" in str(w.message)]        # same size: nothing to say
    big, big_val = _images(32, 40, seed=2), _images(24, 40, seed=3)
    with pytest.warns(UserWarning, match=r"representative_data: resizing inputs from 40x40 to 32x32 \(bilinear\)"):
        km.export_tflite(model, None, big[0], num_samples=16)
    with pytest.warns(UserWarning, match="x: resizing inputs from 40x40 to 32x32"):
        resized = km.evaluate_tflite(flatbuffer, *big_val, resizing=model.input_resizing)
    assert resized == km.evaluate_tflite(flatbuffer, resize_inputs(big_val[0], (32, 32)), big_val[1])
    with pytest.raises(ValueError, match=r"x must have shape \(N, 32, 32, 3\)"):    # no record: no guessing
        km.evaluate_tflite(flatbuffer, *big_val)
    with pytest.warns(UserWarning, match="train_data: resizing inputs from 40x40 to 32x32"):
        qat = km.quantize(model, tf.data.Dataset.from_tensor_slices(big), epochs=1, batch_size=16)
    assert qat.input_resizing == model.input_resizing    # so its export resizes as the float model's did above
    assert 0.0 <= accuracy <= 1.0
