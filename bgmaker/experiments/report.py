"""experiments/README.md from results.json (+ timing.json): the tables and how to read them."""
from bgmaker.evaluation.markdown import table
from bgmaker.experiments.networks import EXPERIMENTS, ORIGINAL_ROWS
from bgmaker.experiments.train import BATCH_SIZE, EPOCH_WINDOWS, VAE_BATCH_SIZE, VAE_EPOCH_WINDOWS, VAL_WINDOWS

COMMAND = ".venv/bin/python -m bgmaker.experiments    # or scripts/experiments.sh"


def _f(value, digits=4):
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    return f"{value:.{digits}f}"


def _int(n):
    return "–" if n is None else f"{n:,}"


def write_readme(results, timing, path):
    lines = ["# The naive reconstruction experiments, reproduced, fixed, and beside MusicVAE", "",
             f"Regenerate everything here (tables, `results.json`, plots): `{COMMAND}`. "
             "Seeded throughout (seed 0, TensorFlow op determinism): a rerun writes the same `results.json` "
             "and tables; only `timing.json` and the last section change.", ""]
    lines += _counts(results)
    for key, entry in results["datasets"].items():
        lines += _dataset(key, entry, results)
    lines += _how(results)
    lines += ["## Cost of this run", "",
              f"{timing['cpu_s'] / 60:.1f} CPU-minutes, {timing['wall_s'] / 60:.1f} minutes wall on 2 cores shared "
              "with a niced background training run (`timing.json` has every row). This section is the only one "
              "that changes between runs.", ""]
    path.write_text("\n".join(lines))


def _counts(results):
    out = ["## The models and their parameter counts", "",
           "Keras counts at 88 keys. PyTorch convention = Keras trainable + one extra bias per recurrent layer "
           "(PyTorch keeps b_ih and b_hh: +units per RNN layer, +4 x units per LSTM layer); BatchNorm running "
           "statistics are buffers in PyTorch and Keras' non-trainable weights, so they are in neither count.", ""]
    rows = []
    for name, c in results["counts"].items():
        e = EXPERIMENTS[name]
        original = c["original"]
        match = ("exact" if original == c["pytorch_convention"] else
                 f"{c['pytorch_convention'] - original:+,}") if original else f"fix of {e.row}"
        rows.append([name, e.description, _int(c["keras_trainable"]), _int(c["keras_non_trainable"]),
                     _int(c["pytorch_convention"]), _int(original), match])
    out += table(["id", "model", "Keras trainable", "Keras non-trainable", "PyTorch convention", "original table",
                  "match"], rows, "llrrrrl")
    out += ["", "01's layout is derived from the count: five U-Net DoubleConvs (3x3 conv with bias, BatchNorm, ReLU, "
            "twice) down with channels 32-64-128-256-512 on the roll as a 1-channel image, five up with 256-128-64-32-1, "
            "max-pooling / nearest upsampling between: exactly 7,068,879. That leaves no parameter for a latent "
            "projection, so mu and log sigma^2 are taken parameter-free from the encoder's 512-channel map (both = "
            "the map here; see `networks.doubleconv_vae`). The fix adds 1x1-conv heads for them (+525,312).", ""]
    return out


def _dataset(key, entry, results):
    title = {"piano": "Piano rolls: Bach chorales", "drums": "Drum grids: v2_rock_beat",
             "midi": "Your MIDI folder"}[key]
    rows, floors = entry["rows"], entry["floors"]
    frames = entry["frames"]
    out = [f"## {title}", "", f"Data: {entry['about']}. Windows train / validation / test: "
           f"{entry['windows']['train']:,} / {entry['windows']['validation']:,} / {entry['windows']['test']:,} "
           f"({entry['pieces']['train']} / {entry['pieces']['validation']} / {entry['pieces']['test']} "
           f"{'pieces' if key != 'drums' else 'performances'}); window {entry['shape'][0]} steps x "
           f"{entry['shape'][1]} keys.", "",
           "All figures on the **test split**; each model's threshold is the one with the best cell F1 on "
           "validation. L2 = mean squared error per cell of the raw prediction (the original 'loss'). "
           + ("F1 = frame F1 (a cell is a sounding note); onset F1 on the onsets of the thresholded roll. "
              if frames else "Cells are onsets, so F1 is onset F1. ")
           + "Density = fraction of cells on (output at the threshold / input); notes per sounding step: "
           "1.0 = one note at a time.", ""]

    def line(name, epochs, s, what):
        return [name, epochs, _f(s["l2"]), _f(s["f1_at_half"], 3), _f(s["threshold"], 3), _f(s["f1"], 3),
                *([_f(s["onset_f1"], 3)] if frames else []), f"{_f(s['density_out'], 4)} / {_f(s['density_in'], 4)}",
                f"{_f(s['polyphony_out'], 2)} / {_f(s['polyphony_in'], 2)}", _f(s["silent_windows_out"], 2), what]

    lines = []
    for name in [n for n in EXPERIMENTS if n in rows]:
        row, e = rows[name], EXPERIMENTS[name]
        epochs = f"{e.epochs} -> {row['epochs_run']} ({row['best_epoch']})"
        lines.append(line(f"**{name}**" if e.fixes else name, epochs, row["test"], _diagnosis(row)))
    lines.append(line("floor: always silent", "", floors["silent"], "predicts no note"))
    lines.append(line("floor: per-key frequency", "", floors["key frequency"],
                      "each key's training frequency, every step"))
    lines.append(line("floor: shuffle", "", floors["shuffle"], "another test window of another piece"))
    out += table(["id", "epochs: original -> run (best)", "test L2", "F1 @ 0.5", "threshold (val)", "F1",
                  *(["onset F1"] if frames else []), "density out / in", "notes per sounding step out / in",
                  "silent windows out", "what happened"], lines, "llrrrr" + ("r" if frames else "") + "llrl")
    out += ["", "Ceiling: the input itself (L2 0, F1 1): these models see the whole window and have no bottleneck "
            "in time, so reconstruction is a per-step copy through the layers.", ""]
    if key == "drums" and entry.get("musicvae"):
        out += _musicvae(entry)
    out += _samples(key, entry)
    out += ["![validation L2 per epoch](loss_curves.png)", "",
            f"![test reconstructions](reconstructions-{key}.png)", "",
            "Reconstructions: two test windows (seeded) and each row's output, white 0 to black 1, the cells above "
            "its threshold outlined in red.", ""]
    return out


def _diagnosis(row):
    """A one-line reading of the figures, the way the original notes read."""
    t = row["test"]
    notes = []
    if row["nan_at"]:
        notes.append(f"loss NaN at {row['nan_at']}")
    if t["density_out_at_half"] < 0.1 * t["density_in"]:
        notes.append("almost no notes at 0.5")
    if t["density_out"] < 0.5 * t["density_in"]:
        notes.append("too few notes at its threshold")
    elif t["density_out"] > 2 * t["density_in"]:
        notes.append("too many notes at its threshold")
    if t["polyphony_out"] and t["polyphony_out"] < 0.6 * t["polyphony_in"]:
        notes.append("thinner chords than the input")
    return "; ".join(notes) or "notes where the input has them"


def _musicvae(entry):
    out = ["### MusicVAE on the same drum grids", "",
           "From the committed reports, not rerun here. The shipped model's figures are on the test split (all 316 "
           "windows; `models/v2_rock_beat/evaluation.json`): 'decoded' is the reconstruction a user gets (posterior "
           "mean, decoded free-running at temperature 0.001), 'free-running' as Magenta's eval job; its L2 and "
           "density are those of its 0/1 grid, from the report's onset counts; the flat cat-drums_4bar row is on the "
           "test split too (`reports/models/flat-windows-b64/evaluation.json`). The recipe runs are scored on the "
           "**validation** split (128 windows, quick mode; `reports/recipes.json`, last milestone), so they do "
           "not compare digit for digit with the test rows above.", ""]
    rows = []
    for r in entry["musicvae"]:
        if r.get("status"):
            rows.append([f"{r['id']} ({_int(r['params'])} parameters)", *["–"] * 5, r["status"]])
            continue
        d, fr = r.get("decoded"), r.get("free_running", {})
        rows.append([r["id"], r["split"], _int(r["steps"]), _f(d["l2"]) if d else "–", _f(d["f1"], 3) if d else "–",
                     _f(fr.get("f1"), 3), f"{_f(d['density_out'], 4)} / {_f(d['density_in'], 4)}" if d else "–"])
    out += table(["model", "split", "steps", "L2 (0/1 grid)", "onset F1 decoded", "onset F1 free-running",
                  "density out / in"], rows, "llrrrrl")
    out.append("")
    return out


def _samples(key, entry):
    vaes = {n: r for n, r in entry["rows"].items() if "samples" in r}
    if not vaes:
        return []
    if key != "drums":
        test = entry["rows"][next(iter(vaes))]["test"]
        rows = [[n, _f(r["samples"]["density"], 4), _f(r["samples"]["polyphony"], 2),
                 _f(r["samples"]["silent_windows"], 2)] for n, r in vaes.items()]
        rows.append(["real test windows", _f(test["density_in"], 4), _f(test["polyphony_in"], 2), "0.00"])
        return (["### Samples (VAEs only: z ~ N(0, I), thresholded at the row's validated threshold)", ""]
                + table(["id", "density", "notes per sounding step", "silent windows"], rows, "lrrr") + [""])
    out = ["### Samples against real drumming (the evaluation's sample figures)", "",
           "Our VAEs: 256 samples, z ~ N(0, I) (T=1), thresholded at the row's validated threshold, against the test "
           "windows. MusicVAE: its test report (T=0.5 and 1, 256 samples) and the recipes' validation reports "
           "(T=0.5). Overlap: mean KDE overlap over every drum feature (1 = same distribution); rhythm: syncopation "
           "and groove consistency; classifier: two-sample accuracy (0.5 = indistinguishable from real).", ""]

    def line(name, s):
        return [name, _f(s.get("overlap"), 3), _f(s.get("rhythm_overlap"), 3), _f(s.get("classifier"), 3),
                _f(s.get("bar_repetition"), 3), _f(s.get("kick_on_one"), 3), _f(s.get("active_instruments"), 2)]
    rows = [line(f"{n} (test, T=1)", r["samples"]) for n, r in vaes.items()]
    for r in entry.get("musicvae", []):
        for t, s in r.get("samples", {}).items():
            rows.append(line(f"{r['id']} ({r['split'].split(' ')[0]}, {t})", s))
    rows.append(line("floor: test windows, steps shuffled", entry["shuffle_samples"]))
    real = entry["real_test"]
    rows.append(["real test windows (against themselves: overlap 1 by construction)", "–", "–", "–",
                 _f(real["bar_repetition"], 3), _f(real["kick_on_one"], 3), _f(real["active_instruments"], 2)])
    shipped = next((r for r in entry.get("musicvae", []) if r.get("reference")), None)
    if shipped:
        ref = shipped["reference"]
        rows.append(["ceiling: train vs test windows (shipped report)", _f(ref["real_vs_train_overlap"], 3),
                     _f(ref["real_vs_train_rhythm_overlap"], 3), _f(ref["classifier_real_vs_train"], 3),
                     "–", "–", "–"])
    out += table(["samples", "overlap", "rhythm overlap", "classifier acc.", "bar 3 = bar 1", "kick on one",
                  "active drums"], rows, "lrrrrrr")
    return out + [""]


def _how(results):
    quick = results["settings"]["quick"]
    return ["## How it was run", "",
            ("**Quick mode** (`--quick`): a smoke test on tiny subsets, one epoch each; the figures mean nothing. "
             if quick else "")
            + f"Epochs are scaled to the CPU: an epoch here is at most {EPOCH_WINDOWS} training windows at batch "
            f"{BATCH_SIZE} ({VAE_EPOCH_WINDOWS} at batch {VAE_BATCH_SIZE} for the two VAEs, ~10x the compute per "
            f"window), drawn from a seeded stream over the whole training split; 100 original epochs -> "
            f"{EXPERIMENTS['02'].run_epochs} of ours (VAEs {EXPERIMENTS['01'].run_epochs}), 200 -> "
            f"{EXPERIMENTS['04'].run_epochs}. After every epoch the model is scored on a fixed seeded subset of "
            f"{VAL_WINDOWS} validation windows; the epoch with the best validation objective is the one scored "
            "(the original kept the best epoch too: 'best at epoch 50'). 03 is read off 04's run (the best of its "
            f"first {EXPERIMENTS['03'].run_epochs} epochs): same model, seed and batch order at a constant learning rate, so those epochs are "
            "03's own run. Adam at 1e-3 everywhere (the original's rate for 04.3).", "",
            "Losses: the original rows use L2 (MSE) on the last recurrent layer's output (tanh-bounded, as PyTorch's "
            "nn.LSTM returns it); 01 uses L2 + KL with beta 1 on its ReLU output. The fixes, each an extra row "
            "(bold) beside the original it fixes, never a change to it:", "",
            "- **01-fix**: separate mu / log sigma^2 heads, log sigma^2 clamped to [-6, 2], KL warm-up (beta 0 -> 1 "
            "over 2 epochs), gradient clipping (global norm 1), BCE with positives weighted by the training "
            "split's negatives/positives ratio, a logit output (the last ReLU removed);",
            "- **03-fix**: the same weighted BCE through a per-key logit head (2 x keys parameters);",
            "- **04.3-fix**: weighted BCE, learning-rate warm-up (1 epoch), ReduceLROnPlateau (x0.5 after an epoch "
            "without improvement), gradient clipping, early stopping (3 epochs), up to 12 epochs;",
            "- for every row: the threshold picked on validation instead of reading the output at 0.5.", "",
            "Originals for reference (PyTorch, their own data, 100-200 full epochs): "
            + "; ".join(f"{k}: loss {v['loss']} ({v['notes']})" for k, v in ORIGINAL_ROWS.items()) + ".", ""]
