"""`keras_mcunet.search`, the user's entry point to TinyNAS: a thin facade over `tuner.pipeline.search`.

The pipeline lives in the `tuner` package, which depends on keras_mcunet (never the reverse), so it is
imported when search() is called, not when keras_mcunet is imported."""
from __future__ import annotations


def search(train_data, validation_data, config=None, **settings):
    """Search, train and return an MCUNet model within memory limits (TinyNAS, MCUNet Sec. 3).

    `config` is a `tuner.SearchConfig` (also `keras_mcunet.SearchConfig`) and every setting may be given as a
    keyword argument instead: num_classes, sram_limit, flash_limit, max_macs, memory_model, patches,
    max_mac_overhead, directory, project_name, overwrite, space, width_mults, resolutions, space_samples,
    min_fit_fraction, redistribute_receptive_field, supernet_epochs, supernet_steps_per_epoch,
    supernet_learning_rate, num_random, supernet_distill, shared_supernets, population_size, generations,
    parent_ratio, mutation_ratio, mutation_prob, objective, calibration_batches, batch_size, finetune_epochs,
    finetune_learning_rate, finetune_from, strategy, seed, verbose, worker_timeout. See tuner.pipeline.search for
    what each stage does.
    Returns the fine-tuned tf_keras model (None on a distributed worker); its `input_resizing` says how the
    data were resized to its input."""
    from tuner import search as run_search   # tuner imports keras_mcunet: import it only when called
    return run_search(train_data, validation_data, config, **settings)


def __getattr__(name):
    """SearchConfig (and its groups) come from tuner.search_config, imported on first use as search does."""
    if name in ("SearchConfig", "SpaceConfig", "SupernetConfig", "EvolutionConfig", "FinetuneConfig"):
        from tuner import search_config
        return getattr(search_config, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
