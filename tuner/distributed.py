"""KerasTuner's distributed tuning, as TinyNAS uses it.

Every process runs the same `keras_mcunet.search(...)` call; KERASTUNER_TUNER_ID, KERASTUNER_ORACLE_IP and
KERASTUNER_ORACLE_PORT give it its role. The chief (a tuner id containing "chief") runs stage 1, trains the
supernet, then serves the EvolutionOracle over gRPC and, when the workers are done, fine-tunes the winner.
A worker waits until the chief's oracle answers (so stage 1 and supernet training are over), reads W and R
from the oracle's space, restores the supernet from the chief's checkpoint (the project directory must be on
a file system the workers share, as for KerasTuner's own results) and runs trials until the oracle stops.
"""
from __future__ import annotations

import os

from keras_mcunet._tf import tf

from .kt_compat import distribute_utils, keras_tuner, protos

LOCAL, CHIEF, WORKER = "local", "chief", "worker"


def role() -> str:
    """'local' without KerasTuner's distribution variables, else 'chief' or 'worker'."""
    if not distribute_utils.has_chief_oracle():
        return LOCAL
    return CHIEF if distribute_utils.is_chief_oracle() else WORKER


def chief_address() -> str:
    return f"{os.environ['KERASTUNER_ORACLE_IP']}:{os.environ['KERASTUNER_ORACLE_PORT']}"


def wait_for_chief_space(timeout: float) -> keras_tuner.HyperParameters:
    """Block until the chief's oracle answers (at most `timeout` seconds); return its hyperparameter space."""
    import grpc

    # gRPC backs off up to 2 minutes between connection attempts; the chief may serve for less than that when
    # another worker takes every trial, so retry every second at most.
    channel = grpc.insecure_channel(chief_address(), options=[("grpc.initial_reconnect_backoff_ms", 200),
                                                              ("grpc.max_reconnect_backoff_ms", 1000)])
    stub = protos.get_service_grpc().OracleStub(channel)
    try:
        response = stub.GetSpace(protos.get_service().GetSpaceRequest(), wait_for_ready=True, timeout=timeout)
    except grpc.RpcError as e:
        raise TimeoutError(f"the chief oracle at {chief_address()} did not answer within {timeout:.0f} s "
                           f"({e.code().name}); start the chief (KERASTUNER_TUNER_ID=chief) with the same "
                           f"directory, or raise worker_timeout") from None
    finally:
        channel.close()
    return keras_tuner.HyperParameters.from_proto(response.hyperparameters)


def restore_supernet(supernet, checkpoint_dir: str) -> int:
    """Load the latest supernet checkpoint written by fit_supernet; returns its epoch count."""
    latest = tf.train.latest_checkpoint(checkpoint_dir) if os.path.isdir(checkpoint_dir) else None
    if latest is None:
        raise FileNotFoundError(
            f"no supernet checkpoint in {checkpoint_dir}: a worker restores the chief's supernet, so the project "
            f"directory must be shared between the chief and the workers")
    epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
    tf.train.Checkpoint(supernet=supernet, epoch=epoch).restore(latest).expect_partial()
    return int(epoch.numpy())
