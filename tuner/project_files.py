"""Files of a TinyNAS project (directory/project_name), written atomically so a killed search leaves either
the old or the new version of each, and the check that a resumed search uses the same settings."""
from __future__ import annotations

import json
import os

from tinyengine_tflite.json_files import read_json, write_json  # noqa: F401  (the one JSON writer)

SEARCH_CONFIG = "search_config.json"          # settings a resumed search must share
SPACE_RESULT = "space_optimization.json"      # stage 1's table
SPACE_TABLE = "space_optimization.txt"
SPACE_PLOT = "space_macs_cdf.png"
SUPERNET_DIR = "supernet"                     # supernet checkpoints (one per epoch)
SUPERNET_DONE = "trained.json"                # in SUPERNET_DIR: written when the supernet is trained
PROGRESS_PLOT = "search_progress.png"
BEST_ARCH = "best_arch.json"
FINETUNE_BACKUP = "finetune_backup"
BEST_WEIGHTS = "best_model.weights.h5"
BEST_MODEL_INFO = "best_model.json"


def check_search_config(project_dir: str, config: dict) -> None:
    """Save `config` in a new project; in an existing one, raise ValueError naming the settings that changed."""
    path = os.path.join(project_dir, SEARCH_CONFIG)
    config = json.loads(json.dumps(config))   # tuples -> lists, as they come back from the file
    if os.path.exists(path):
        saved = read_json(path)
        saved.setdefault("objective", "val_accuracy")   # what projects saved before the setting existed ranked by
        changed = sorted(k for k in set(saved) | set(config) if saved.get(k) != config.get(k))
        if changed:
            details = "; ".join(f"{k}: saved {saved.get(k)!r}, now {config.get(k)!r}" for k in changed)
            raise ValueError(f"{project_dir} holds a search with other settings ({details}). Pass the same "
                             f"settings to resume it, or use another project_name or overwrite=True.")
        return
    write_json(path, config)
