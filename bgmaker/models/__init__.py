"""A trained model on disk: what its folder holds, which checkpoint a name means, and its config.

Everything that loads or writes a model asks here: generation
(bgmaker.generation), evaluation, export, warm starts (bgmaker.training) and
Magenta's own console scripts (bgmaker.cli.magenta_apps).

Two kinds of folder hold a model:

- a **shipped model**, `models/<run>/` (`bgmaker export`): weights only,
  `model.ckpt-N.*` + `checkpoint`, with `hparams.txt` and `bgmaker_run.json`
  (how it was trained) and `evaluation.json/.md` (how good it is);
- a **training run**, `runs/<run>/` (`bgmaker train`): `train/model.ckpt-N.*`
  with Adam's slots, `hparams.txt`, `bgmaker_run.json`, `progress.jsonl`,
  `milestones/`.

Where those folders are and what their `bgmaker_run.json` says is
bgmaker.models.records' business; this module asks it.

`hparams.txt` holds the hparam overrides the model was trained with: a
checkpoint cannot be loaded without them and Magenta records them nowhere a
tool can read back. `locate()` turns a run name and/or a path into one
checkpoint and says why that one; `config_for()` builds the Magenta Config
that fits it. Locating needs no TensorFlow (the `checkpoint` index file is
text), so commands can say which model they will use, and refuse a
mismatched one, before anything heavy loads.
"""
import os
import re
from dataclasses import dataclass
from pathlib import Path

from bgmaker.errors import ModelMismatchError, UnknownNameError
from bgmaker.models.records import run_record, train_dir
from bgmaker.paths import as_typed

HPARAMS_FILE = "hparams.txt"
DEFAULT_CONFIG = "hierdec-drum_4bar"

# hparams about how a model was trained, not what it is: loading for generation does not inherit them
# (lstm_precision: it picks its own, auto; shuffle_buffer: only training shuffles).
TRAINING_ONLY_HPARAMS = ("lstm_precision", "shuffle_buffer")


# -- hparam override strings ------------------------------------------------

def split_hparams(text):
    """'a=1,b=[2,3]' -> {'a': '1', 'b': '[2,3]'} (commas inside brackets kept)."""
    parts = [p for p in re.split(r",(?=\s*\w+\s*=)", text or "") if p.strip()]
    out = {}
    for part in parts:
        if "=" not in part:
            raise ValueError(f"bad --hparams entry {part!r}: expected name=value")
        key, value = part.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def join_hparams(overrides):
    return ",".join(f"{k}={v}" for k, v in overrides.items())


def record_hparams(folder, overrides):
    """Write the hparam override string a model was trained with into `folder`/hparams.txt."""
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, HPARAMS_FILE), "w") as f:
        f.write((overrides or "") + "\n")


def recorded_hparams(path, keep_training_only=False):
    """The override string recorded for a model folder, a run's train/ dir or a checkpoint in either.

    Looks in the checkpoint's folder, then its parent (runs/<run>/train/ ->
    runs/<run>/). Without `keep_training_only`, TRAINING_ONLY_HPARAMS are dropped.
    """
    if not path:
        return ""
    path = os.path.abspath(os.path.expanduser(str(path)))
    start = path if os.path.isdir(path) else os.path.dirname(path)
    for folder in (start, os.path.dirname(start)):
        candidate = os.path.join(folder, HPARAMS_FILE)
        if os.path.isfile(candidate):
            with open(candidate) as f:
                text = f.read().strip()
            if keep_training_only:
                return text
            return join_hparams({k: v for k, v in split_hparams(text).items() if k not in TRAINING_ONLY_HPARAMS})
    return ""


# -- which checkpoint -------------------------------------------------------

def latest_checkpoint(folder):
    """The newest checkpoint prefix in `folder` (from its `checkpoint` index file), or None. No TensorFlow.

    A checkpoint beside the index wins over the path the index records, so a
    moved or copied run folder loads its own checkpoints.
    """
    index = Path(folder) / "checkpoint"
    if not index.is_file():
        return None
    match = re.search(r'^model_checkpoint_path:\s*"(.*)"\s*$', index.read_text(), re.M)
    if not match:
        return None
    recorded = Path(match.group(1))
    # Magenta records absolute paths; a run folder that was moved or copied keeps its checkpoints beside the index.
    for prefix in (Path(folder) / recorded.name, recorded if recorded.is_absolute() else Path(folder) / recorded):
        if Path(f"{prefix}.index").is_file():
            return str(prefix)
    return None


def resolve_checkpoint(path):
    """The checkpoint prefix for a checkpoint, a model folder, a train/ dir or a run dir (which holds train/)."""
    path = os.path.abspath(os.path.expanduser(str(path)))
    if os.path.isdir(path):
        for folder in (str(train_dir(path)), path):
            latest = latest_checkpoint(folder) if os.path.isdir(folder) else None
            if latest:
                return latest
        raise FileNotFoundError(f"{path}: no checkpoint in this folder or its train/")
    if path.endswith(".index") and os.path.isfile(path):
        return path[:-len(".index")]
    if not os.path.exists(path + ".index"):
        raise FileNotFoundError(f"{path}: no such checkpoint (expected {path}.index)")
    return path


def step_of(checkpoint):
    """The training step in a checkpoint prefix's name (model.ckpt-2025 -> 2025), or None."""
    match = re.search(r"-(\d+)$", str(checkpoint))
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class ModelChoice:
    """A checkpoint to load, the config it is loaded with, and why this one (said to the user)."""
    checkpoint: str
    config: str         # a CONFIG_MAP name: a run's own name or a model config name
    why: str
    run: object = None  # the bgmaker_configs Run, when the model belongs to one


def _shipped_and_training(run):
    shipped = latest_checkpoint(run.shipped_dir) if run.shipped_dir.is_dir() else None
    training = latest_checkpoint(train_dir(run.run_dir)) if train_dir(run.run_dir).is_dir() else None
    return shipped, training


def as_trained(run, checkpoint):
    """`run` with the model its checkpoint was trained as (its bgmaker_run.json), when that differs.

    A run's data can be trained with another of BGMaker's models
    (`bgmaker train --run NAME --config cat-drums_4bar`, the flat baseline):
    whatever loads such a checkpoint with `--run NAME` must build that model,
    not the run's own. `run` is a Run (or None, returned as is).
    """
    import dataclasses

    import bgmaker_configs
    trained = run_record(checkpoint).get("model") if run is not None else None
    if trained in bgmaker_configs.MODEL_NAMES and trained != run.config:
        return dataclasses.replace(run, config=trained)
    return run


def locate(run=None, checkpoint=None, config=None):
    """The model to load for `--run` and/or `--checkpoint` (and `--config`), and why.

    - `checkpoint` given: that one (a prefix, a model folder, a train/ dir or a
      run dir), with `config`, else the run's config (with the model the
      checkpoint was trained as: `as_trained`), else the model recorded in
      its bgmaker_run.json, else hierdec-drum_4bar.
    - `run` only: the run's **shipped** model (models/<run>), evaluated and
      chosen on validation; a training checkpoint of the run never takes over
      silently (a two-step smoke run would otherwise replace it), the reason
      says it exists and how to use it (`--checkpoint runs/<run>`). A run
      with no shipped model uses its newest training checkpoint, and says so.

    `run` is a name or a Run. Raises UnknownRunError, FileNotFoundError.
    """
    import bgmaker_configs
    if isinstance(run, str):
        run = bgmaker_configs.get_run(run)
    if checkpoint:
        found = resolve_checkpoint(checkpoint)
        if config is None:
            run = as_trained(run, found)
            config = run.name if run else run_record(found).get("model") or DEFAULT_CONFIG
        return ModelChoice(found, config, f"--checkpoint {checkpoint}", run)
    if run is None:
        raise ValueError("give a run or a checkpoint")
    shipped, training = _shipped_and_training(run)
    if shipped:
        why = f"the shipped model of run {run.name} ({as_typed(run.shipped_dir)})"
        if training:
            why += (f"; run {run.name} also has a training checkpoint ({as_typed(training)}, not shipped): "
                    f"use it with --checkpoint {as_typed(run.run_dir)}")
        return ModelChoice(shipped, run.name, why, run)
    if training:
        return ModelChoice(training, run.name, f"run {run.name}'s newest training checkpoint, step "
                                               f"{step_of(training)} (no shipped model in {as_typed(run.shipped_dir)})", run)
    raise FileNotFoundError(f"run {run.name} has no shipped model in {as_typed(run.shipped_dir)} and no checkpoint in "
                            f"{as_typed(train_dir(run.run_dir))} (train it: scripts/train.sh --run {run.name}, or bgmaker train --run {run.name})")


# -- the config that fits a checkpoint ----------------------------------------

def config_for(config, checkpoint, hparams=None, run=None):
    """A fresh Magenta Config for loading `checkpoint`: `config`'s hparams plus the model's overrides.

    config: a CONFIG_MAP name or a Config. hparams: an override string; None
    reads the one recorded beside the checkpoint (`recorded_hparams`).
    run: a Run whose own config (its recipe's and its hparams) is the base.
    Checks that the result has the checkpoint's shapes (`check_fits`).
    Registers BGMaker's configs into Magenta (imports TensorFlow).
    """
    import bgmaker_configs
    config_map = bgmaker_configs.register()
    from magenta.models.music_vae import configs

    if isinstance(config, configs.Config):
        base, name = config, None
    elif run is not None:
        base, name = run.magenta_config(), run.name
    elif config in config_map:
        base, name = config_map[config], config
    else:
        raise UnknownNameError(
            f"unknown config '{config}'; BGMaker's drum configs: {', '.join(drum_config_names())}")
    hparams_obj = type(base.hparams)(**base.hparams.values())
    overrides = recorded_hparams(checkpoint) if hparams is None else hparams
    if overrides:
        try:
            hparams_obj.parse(overrides)
        except ValueError as e:
            raise ModelMismatchError(f"--hparams {overrides!r} do not apply to config '{name}': {e}") from None
    fresh = configs.update_config(base, dict(hparams=hparams_obj))
    check_fits(fresh, checkpoint, name or "the given config", overrides)
    return fresh


def drum_config_names():
    """The names `--config` accepts: BGMaker's drum model configs and named runs (no TensorFlow)."""
    import bgmaker_configs
    return tuple(bgmaker_configs.MODEL_NAMES) + tuple(n for n, r in bgmaker_configs.RUNS.items() if not r.humanizes)


def checkpoint_shape(checkpoint):
    """What a checkpoint is, from its variables: decoder kind, z size and LSTM sizes."""
    import tensorflow as tf
    shapes = dict(tf.train.list_variables(str(checkpoint)))

    def cells(prefix):
        sizes, i = [], 0
        while f"{prefix}/cell_{i}/lstm_cell/bias" in shapes:
            sizes.append(shapes[f"{prefix}/cell_{i}/lstm_cell/bias"][0] // 4)
            i += 1
        return sizes

    hierarchical = any(n.startswith("decoder/hierarchical_level_") for n in shapes)
    decoder = cells("core_decoder/decoder/multi_rnn_cell" if hierarchical else "decoder/multi_rnn_cell")
    encoder = shapes.get("encoder/cell_0/bidirectional_rnn/fw/multi_rnn_cell/cell_0/lstm_cell/bias")
    output = shapes.get(("core_decoder/" if hierarchical else "") + "decoder/output_projection/bias")
    return dict(decoder="hierarchical" if hierarchical else "flat",
                z_size=shapes.get("encoder/mu/bias", [None])[0],
                enc_rnn_size=[encoder[0] // 4] if encoder else None,
                dec_rnn_size=decoder or None,
                output_depth=output[0] if output else None)


def config_shape(config):
    from magenta.models.music_vae import lstm_models
    h = config.hparams
    return dict(decoder="hierarchical" if isinstance(config.model.decoder, lstm_models.HierarchicalLstmDecoder)
                else "flat", z_size=h.z_size, enc_rnn_size=list(h.enc_rnn_size)[:1],
                dec_rnn_size=list(h.dec_rnn_size), output_depth=config.data_converter.output_depth)


def check_fits(config, checkpoint, name, overrides=""):
    """ModelMismatchError, one line naming each difference, when `checkpoint` cannot load into `config`."""
    have, want = checkpoint_shape(checkpoint), config_shape(config)
    diffs = [f"{k} {have[k]} in the checkpoint, {want[k]} in the config" for k in want
             if have.get(k) is not None and have[k] != want[k]]
    if diffs:
        recorded = run_record(checkpoint).get("model")
        hint = f"; it was trained as '{recorded}'" if recorded else ""
        raise ModelMismatchError(
            f"checkpoint {as_typed(checkpoint)} does not fit config '{name}'"
            + (f" with hparams '{overrides}'" if overrides else "") + ": " + "; ".join(diffs) + hint)
