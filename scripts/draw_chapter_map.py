"""Draw book/_static/chapter_map.svg, the chapter dependency map of the introduction.

    .venv/bin/python scripts/draw_chapter_map.py
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

CHAPTERS = {  # number: (title, column, row)
    1: ("1 Overfitting &\nbias–variance", 0, 2),
    2: ("2 Norm penalties,\nweight decay", 1, 0),
    3: ("3 Early stopping", 2, 0),
    7: ("7 Gradient clipping,\nconstraints", 2, 1),
    4: ("4 Dropout family", 1, 2),
    5: ("5 Normalization", 2, 2),
    11: ("11 Stochastic depth,\nShake-Shake", 3, 2),
    6: ("6 Data augmentation", 1, 3),
    8: ("8 Mixup & CutMix", 2, 3),
    9: ("9 Label smoothing,\ncalibration", 3, 3),
    10: ("10 Adversarial\ntraining", 1, 4),
    12: ("12 Implicit &\nsemi-supervised", 2, 4),
    13: ("13 Putting it\ntogether", 4, 2),
}
# An edge a -> b: chapter b builds on what chapter a taught (it refers back to it). Chapter 13
# combines chapters 2-6, 8, 9 and 11; 7, 10 and 12 are not needed for it.
EDGES = [(1, 2), (1, 4), (1, 6), (1, 10), (2, 3), (2, 7), (4, 5), (5, 11), (4, 11), (6, 8), (8, 9), (4, 12),
         (6, 12), (3, 13), (11, 13), (9, 13)]


def main() -> None:
    fig, ax = plt.subplots(figsize=(11, 4.6))
    position = {n: (col * 2.6, -row * 1.15) for n, (_, col, row) in CHAPTERS.items()}
    boxes = {}
    for n, (title, _, _) in CHAPTERS.items():
        colour = "#dbe9f6" if n not in (1, 13) else "#f6e3c7"
        boxes[n] = ax.text(*position[n], title, ha="center", va="center", fontsize=10, zorder=3,
                           bbox=dict(boxstyle="round,pad=0.45", facecolor=colour, edgecolor="#2f6f9f"))
    for a, b in EDGES:
        bend = {(4, 11): 0.35}.get((a, b), 0.0)  # curve around chapter 5
        ax.annotate("", xy=position[b], xytext=position[a], zorder=2,
                    arrowprops=dict(arrowstyle="-|>", color="#7a8ca0", lw=1.1, shrinkA=3, shrinkB=3,
                                    patchA=boxes[a].get_bbox_patch(), patchB=boxes[b].get_bbox_patch(),
                                    connectionstyle=f"arc3,rad={bend}"))
    ax.set_xlim(-1.4, 4 * 2.6 + 1.4)
    ax.set_ylim(-4 * 1.15 - 0.45, 0.45)
    ax.axis("off")
    fig.tight_layout()
    out = Path(__file__).resolve().parents[1] / "book" / "_static" / "chapter_map.svg"
    fig.savefig(out, format="svg", metadata={"Date": None})
    print(out)


if __name__ == "__main__":
    main()
