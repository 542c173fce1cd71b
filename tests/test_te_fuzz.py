"""Mutation fuzzing of convert() (issue 14) over the suite models and a few generated ones: every outcome is a
success or the project's ConversionError, never another exception, a crash or a hang; converted mutants that
LiteRT's reference kernels also run give equal outputs, and a sample runs clean under the sanitizers. Each mutant runs in a worker process with a time limit
(tests/fuzzing.py). The default run is a short property-based test (hypothesis draws the mutations); the long one
(-m slow, TINYENGINE_FUZZ_MUTANTS mutants, 10,000 by default) prints the counts per outcome."""
import os

import pytest
from fuzzing import BUG_OUTCOMES, Sandbox, byte_mutant, fuzz, schema_mutant
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from modelgen import int8_tflite
from reference import shared_missing, suite_models

from tinyengine_tflite.schema import fb

# The default run's sample of converted mutants: these many have their outputs compared with LiteRT's, then these
# many are built with the sanitizer-visible arena and run under -fsanitize=address,undefined.
OUTPUT_CHECKS = 3
SANITIZER_CHECKS = 1


def _generated() -> dict[str, bytes]:
    """Small models covering the operators the suite models use little: depthwise, pooling, MEAN, MUL, softmax."""
    from keras_mcunet._tf import keras

    def convnet(x):
        y = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu6")(x)
        y = keras.layers.Conv2D(6, 3, strides=2)(y)
        y = keras.layers.AveragePooling2D(2)(y)
        z = keras.layers.GlobalAveragePooling2D()(y)
        return keras.layers.Softmax()(keras.layers.Dense(5)(z))

    def elementwise(a, b):
        m = keras.layers.Multiply()([a, b])
        s = keras.layers.Add()([m, keras.layers.MaxPooling2D(1)(a)])
        return keras.layers.Concatenate()([s, b])

    return {"gen_convnet": int8_tflite(convnet, [(9, 9, 3)], "fuzz_convnet"),
            "gen_elementwise": int8_tflite(elementwise, [(4, 4, 2), (4, 4, 2)], "fuzz_elementwise")}


@pytest.fixture(scope="module")
def models() -> dict[str, bytes]:
    if shared_missing("models"):
        pytest.skip(shared_missing("models"))
    found = {p.stem: p.read_bytes() for p in suite_models()}
    found.update(_generated())
    return found


@pytest.fixture(scope="module")
def parsed(models):
    return {name: fb.ModelT.InitFromPackedBuf(data, 0) for name, data in models.items()}


@pytest.fixture(scope="module")
def sandbox():
    box = Sandbox(time_limit=20.0)
    box.checked = 0
    yield box
    box.close()


@settings(max_examples=100, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_mutants_convert_or_are_refused(models, parsed, sandbox, data):
    name = data.draw(st.sampled_from(sorted(models)), label="model")
    rng = data.draw(st.randoms(use_true_random=False), label="rng")
    if data.draw(st.booleans(), label="byte-level"):
        how, mutant = byte_mutant(rng, models[name])
    else:
        how, mutant = schema_mutant(rng, parsed[name])
    outcome = sandbox.run(mutant)
    assert outcome.kind in ("converted", "refused"), f"{name}: {how}: {outcome}"
    if outcome.kind == "refused":
        assert outcome.detail.startswith("model '<bytes>'"), outcome.detail
    elif sandbox.checked < OUTPUT_CHECKS + SANITIZER_CHECKS:
        sandbox.checked += 1
        outcome = sandbox.run(mutant, check=True if sandbox.checked <= OUTPUT_CHECKS else "sanitize")
        assert outcome.outputs and outcome.outputs not in BUG_OUTCOMES, f"{name}: {how}: {outcome}"


def test_sandbox_reports_crashes_and_hangs():
    """The runner itself: a worker that dies or overruns is an outcome, and the next mutant gets a fresh worker."""
    box = Sandbox(time_limit=2.0)
    try:
        assert box.run(b"not a model").kind == "refused"
        assert box.run(("crash", b"")).kind == "crash"
        assert box.run(("hang", b"")).kind == "hang"
        assert box.run(b"not a model either").kind == "refused"
    finally:
        box.close()


@pytest.mark.slow
def test_long_fuzz(models, capsys):
    count = int(os.environ.get("TINYENGINE_FUZZ_MUTANTS", "10000"))
    result = fuzz(models, count, seed=int(os.environ.get("TINYENGINE_FUZZ_SEED", "0")), check_every=50,
                  sanitize_every=200)
    with capsys.disabled():
        print(f"\n{count} mutants: {dict(result.counts)}; output checks: {dict(result.output_counts)}")
    assert not result.bugs, result.bugs[:10]
