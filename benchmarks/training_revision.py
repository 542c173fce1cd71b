"""TRAINING_REVISION: raised when a change of the code alters what training produces, so that a resumed experiment
(benchmarks.claims' cells, benchmarks.tinynas_evidence's seeds) never mixes results of both.

1: up to the batch-norm fix. 2: batch-norm momentum 0.9 (keras_mcunet.model_builder.BN_MOMENTUM)."""
TRAINING_REVISION = 2
