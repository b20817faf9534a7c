"""The assessment's figure: ENAS vs random search, one-shot vs stand-alone accuracy, poisoning levels."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from predictor.data.atomic import atomic_output


def plot_assessment(report: dict, path: str | Path, force: bool = False) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, middle, right) = plt.subplots(1, 3, figsize=(16, 4.8))
    a = report["a_enas_vs_random"]
    for x, key in enumerate(("enas_test", "random_test")):
        values = np.array(a[key]["values"]) * 100
        left.scatter(np.full(len(values), x), values, alpha=0.7)
        left.errorbar(x + 0.15, values.mean(), yerr=values.std(), fmt="o", color="black", capsize=4)
    left.set_xticks([0, 1], ["ENAS", "random search"])
    left.set_xlim(-0.5, 1.5)
    left.set_ylabel("stand-alone test accuracy (%)")
    left.set_title(f"(a) chosen cell, {report['config']['top_k']} trainings per search")

    b = report["b_kendall_tau"]
    standalone = np.array(b["standalone_validation"]) * 100
    for seed, scores in enumerate(b["one_shot_validation"]):
        tau = b["tau"]["values"][seed]
        middle.scatter(np.array(scores) * 100, standalone, alpha=0.6, label=f"one-shot seed {seed}: tau {tau:.2f}")
    middle.set_xlabel("one-shot validation accuracy (%)")
    middle.set_ylabel("stand-alone validation accuracy (%)")
    middle.set_title(f"(b) {len(standalone)} random cells")
    middle.legend(fontsize=8)

    c = report["c_poisoning"]
    levels = [entry["level"] for entry in c]
    x = np.arange(len(levels))
    width = 0.27
    right.bar(
        x - width,
        [e["controller_useless_active"]["mean"] * 100 for e in c],
        width,
        yerr=[e["controller_useless_active"]["std"] * 100 for e in c],
        label="controller: active vertices",
    )
    right.bar(x, [e["controller_useless_decisions"]["mean"] * 100 for e in c], width, label="controller: op decisions")
    right.bar(x + width, [e["random_useless"]["active"] * 100 for e in c], width, label="random sampling")
    right.set_xticks(x, [str(level) for level in levels])
    right.set_xlabel("useless ops beside the 3 real ones")
    right.set_ylabel("share with a useless op (%)")
    twin = right.twinx()
    twin.errorbar(
        x,
        [e["chosen_standalone_test"]["mean"] * 100 for e in c],
        yerr=[e["chosen_standalone_test"]["std"] * 100 for e in c],
        color="black",
        marker="o",
        capsize=4,
        label="chosen cell, stand-alone test acc.",
    )
    twin.set_ylabel("stand-alone test accuracy (%)")
    right.set_title("(c) poisoning")
    handles = right.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    labels = right.get_legend_handles_labels()[1] + twin.get_legend_handles_labels()[1]
    right.legend(handles, labels, fontsize=7, loc="upper left")
    figure.suptitle(f"ENAS assessment, real training on {report.get('dataset', 'digits')}")
    figure.tight_layout()
    path = Path(path)
    with atomic_output(path, force=force) as temporary:
        figure.savefig(temporary, dpi=110, format="png")
    plt.close(figure)
    return path
