"""keras_mcunet.search in real processes: killed with SIGKILL in the middle of the evolutionary search and
resumed, and distributed with KerasTuner's own chief / worker gRPC setup on 127.0.0.1."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

JOB = textwrap.dedent("""
    import json, sys
    import numpy as np
    from sklearn.datasets import load_digits
    import keras_mcunet as km

    directory, project, budget = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    d = load_digits()
    x = (d.images / 16.0)[..., None].astype(np.float32)
    space = km.SearchSpace(stage_channels=(24, 40, 80), stage_strides=(2, 2, 2),
                           stage_depths=((1, 2), (1, 2), (1, 2)), kernel_sizes=(3, 5), expand_ratios=(3, 6))
    model = km.search((x[:1200], d.target[:1200]), (x[1200:], d.target[1200:]), num_classes=10,
                      sram_limit=48 * 1024, flash_limit=96 * 1024, directory=directory, project_name=project,
                      space=space, **budget)
    print("RESULT", None if model is None else list(model.input_shape[1:]), flush=True)
""")

BUDGET = dict(width_mults=[0.2, 0.3], resolutions=[32, 48], space_samples=40, min_fit_fraction=0.05,
              supernet_epochs=1, supernet_steps_per_epoch=10, calibration_batches=2, batch_size=32,
              finetune_epochs=1, verbose=1)


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KERASTUNER_")}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1",
               OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1", **extra)
    return env


def _start(tmp_path, project, budget, log, **env):
    script = tmp_path / "job.py"
    script.write_text(JOB)
    return subprocess.Popen([sys.executable, str(script), str(tmp_path), project, json.dumps(budget)],
                            stdout=open(log, "w"), stderr=subprocess.STDOUT, env=_env(**env))


def _trial_states(project: Path) -> dict:
    states = {}
    for path in project.glob("trial_*/trial.json"):
        try:
            states[path.parent.name[len("trial_"):]] = json.loads(path.read_text())["status"]
        except (ValueError, KeyError):   # being written
            pass
    return states


def _wait(proc, timeout, log):
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(f"timed out after {timeout} s:\n{Path(log).read_text()[-3000:]}")


def test_sigkill_mid_search_then_resume_runs_no_finished_trial_again(tmp_path):
    budget = {**BUDGET, "population_size": 6, "generations": 2}            # 18 trials
    project = tmp_path / "resume"
    first_log = tmp_path / "first.log"
    proc = _start(tmp_path, "resume", budget, first_log)
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if sum(s == "COMPLETED" for s in _trial_states(project).values()) >= 3:
            break
        time.sleep(0.05)
    assert proc.poll() is None, f"the search ended before it could be killed:\n{first_log.read_text()[-3000:]}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = {i for i, s in _trial_states(project).items() if s == "COMPLETED"}
    assert 3 <= len(finished) < 18
    stamps = {i: (project / f"trial_{i}" / "trial.json").stat().st_mtime_ns for i in finished}
    assert not (project / "best_model.json").exists()

    second_log = tmp_path / "second.log"
    proc = _start(tmp_path, "resume", budget, second_log)
    _wait(proc, 300, second_log)
    out = second_log.read_text()
    assert proc.returncode == 0, out[-3000:]
    assert "RESULT [" in out
    assert "reusing the search-space optimization" in out
    assert "supernet epoch" not in out                                      # restored, not retrained
    rerun = set(re.findall(r"^trial (\d+) \(generation \d+\) COMPLETED", out, re.M))
    assert rerun and not rerun & finished                                   # finished trials were not run again
    states = _trial_states(project)
    assert len(states) == 18 and set(states.values()) == {"COMPLETED"}
    assert rerun | finished == set(states)
    for i, stamp in stamps.items():
        assert (project / f"trial_{i}" / "trial.json").stat().st_mtime_ns == stamp
    oracle = json.loads((project / "oracle.json").read_text())
    assert sorted(oracle["end_order"]) == sorted(states) and len(set(oracle["end_order"])) == 18
    ran = json.loads((project / "tuner0.json").read_text())["trials_run"]
    assert len(ran) == len(set(ran))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_chief_and_two_workers_complete_every_trial_once(tmp_path):
    budget = {**BUDGET, "population_size": 6, "generations": 1, "worker_timeout": 240}   # 12 trials
    port = str(_free_port())
    common = dict(KERASTUNER_ORACLE_IP="127.0.0.1", KERASTUNER_ORACLE_PORT=port)
    logs = {name: tmp_path / f"{name}.log" for name in ("chief", "worker0", "worker1")}
    procs = {name: _start(tmp_path, "dist", budget, logs[name], KERASTUNER_TUNER_ID=name, **common)
             for name in logs}
    try:
        for name in ("worker0", "worker1", "chief"):
            _wait(procs[name], 420, logs[name])
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
    out = {name: log.read_text() for name, log in logs.items()}
    for name, proc in procs.items():
        assert proc.returncode == 0, f"{name}:\n{out[name][-3000:]}"
    assert "RESULT [" in out["chief"] and "RESULT None" in out["worker0"] and "RESULT None" in out["worker1"]
    assert "serving the oracle" in out["chief"]
    assert all("restored the chief's supernet" in out[w] for w in ("worker0", "worker1"))
    project = tmp_path / "dist"
    states = _trial_states(project)
    assert len(states) == 12 and set(states.values()) == {"COMPLETED"}
    oracle = json.loads((project / "oracle.json").read_text())
    assert sorted(oracle["end_order"]) == sorted(states)                      # each trial ended exactly once
    ran = {w: json.loads((project / f"{w}.json").read_text())["trials_run"] if (project / f"{w}.json").exists()
           else [] for w in ("worker0", "worker1")}
    everything = ran["worker0"] + ran["worker1"]
    assert sorted(everything) == sorted(states)                                # run once, by one worker
    assert ran["worker0"] or ran["worker1"]
    # Both workers talked to the chief until it told them to stop (one may have found every trial taken when a
    # loaded machine starts it late, so the split is not asserted).
    assert all("stage 2: evolutionary search (" + w in out[w] for w in ("worker0", "worker1"))
    assert not (project / "chief.json").exists() or json.loads((project / "chief.json").read_text()).get(
        "trials_run", []) == []                                                 # the chief only serves
    assert (project / "best_model.weights.h5").exists()
