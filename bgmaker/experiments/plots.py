"""The experiments' two pictures: validation L2 per epoch, and a few test reconstructions as piano rolls."""
import numpy as np

RECONSTRUCTION_ROWS = ("02", "04", "05", "01", "01-fix", "03-fix", "04.3-fix")


def _pyplot():
    """pyplot on the Agg backend (pictures to files), chosen when a picture is drawn: importing changes nothing."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def loss_curves(trained_by_dataset, results, path):
    """One panel per dataset: each row's validation L2 (its prediction vs the roll) after every epoch.

    Dashed: the always-silent predictor's L2 (= the validation density's floor on test) and the per-key
    frequency floor, from the test split. Rows that went NaN stop where they did.
    """
    plt = _pyplot()
    datasets = list(trained_by_dataset)
    fig, axes = plt.subplots(1, len(datasets), figsize=(5.2 * len(datasets), 3.6), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        entry = results["datasets"]["piano" if dataset == "piano" else "drums" if dataset == "drums" else "midi"]
        for name, t in trained_by_dataset[dataset].items():
            epochs = [h["epoch"] for h in t.history]
            values = [h["val_l2"] for h in t.history]
            ax.plot(epochs, values, marker=".", label=name, lw=1.2)
        for floor, style in (("silent", "--"), ("key frequency", ":")):
            ax.axhline(entry["floors"][floor]["l2"], color="grey", ls=style, lw=1, label=f"floor: {floor} (test)")
        ax.set_yscale("log")
        ax.set_xlabel("epoch (at most 512 windows; VAEs 192)")
        ax.set_ylabel("validation L2 (MSE per cell)")
        ax.set_title(dataset, fontsize=10)
        ax.legend(fontsize=6.5, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def reconstructions(trained, splits, entry, path, seed=0, n_windows=2):
    """n_windows test windows (seeded) and each row's output for them, values 0 (white) to 1 (black), the
    thresholded cells outlined in red. Piano: only the keys the shown windows use, +- 3."""
    plt = _pyplot()
    test = splits["test"].x
    rng = np.random.default_rng(seed)
    index = np.sort(rng.choice(len(test), n_windows, replace=False))
    names = [n for n in RECONSTRUCTION_ROWS if n in trained]
    windows = test[index]
    used = np.flatnonzero(windows.any(axis=(0, 1)))
    lo, hi = (max(0, used.min() - 3), min(test.shape[2], used.max() + 4)) if test.shape[2] > 16 else (0, test.shape[2])
    fig, axes = plt.subplots(n_windows, len(names) + 1, figsize=(1.45 * (len(names) + 1), 2.0 * n_windows),
                             squeeze=False)
    for r in range(n_windows):
        panels = [("input", windows[r], None)]
        for n in names:
            threshold = entry["rows"][n]["test"]["threshold"]
            panels.append((f"{n} (t={threshold:g})", trained[n].predict(windows[r:r + 1])[0], threshold))
        for ax, (title, roll, threshold) in zip(axes[r], panels):
            shown = np.clip(np.nan_to_num(roll[:, lo:hi].T, nan=0.0), 0, 1)
            ax.imshow(shown, origin="lower", aspect="auto", cmap="Greys", vmin=0, vmax=1, interpolation="nearest")
            if threshold is not None:
                on = np.nan_to_num(roll[:, lo:hi].T, nan=-1) > threshold
                if on.any():
                    ax.contour(on.astype(float), levels=[0.5], colors="red", linewidths=0.4)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(title, fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=70)
    plt.close(fig)
