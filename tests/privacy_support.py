"""Respondents made to order for the privacy tests: a small instrument, groups of chosen sizes, waves."""

import textwrap

import numpy as np
import pandas as pd

MINI = textwrap.dedent(
    """\
    schema_version: 1
    id: mini-needs
    version: "1.0.0"
    title: Mini needs
    languages: [en]
    license: CC-BY-4.0
    scales:
      agree:
        values: [1, 2, 3, 4, 5]
        labels: [a, b, c, d, e]
    items:
      - {id: r1, text: R1, scale: agree}
      - {id: r2, text: R2, scale: agree}
      - {id: r3, text: R3, scale: agree, reverse: true}
      - {id: c1, text: C1, scale: agree}
      - {id: c2, text: C2, scale: agree}
      - {id: comment, text: Anything else, type: text}
    subscales:
      belonging: {items: [r1, r2, r3], method: mean}
      competence: {items: [c1, c2], method: mean}
    composites:
      needs: {of: [belonging, competence], method: mean}
    """
)
SCALES = ["belonging", "competence", "needs"]
ITEMS = ["r1", "r2", "r3", "c1", "c2"]


def make_people(spec, seed=0, prefix="ZQX"):
    """Respondents from ``[(count, {column: value}), ...]``: distinctive ids, random answers, free text."""
    rng = np.random.default_rng(seed)
    frames = []
    start = 0
    for count, groups in spec:
        ids = [f"{prefix}-{start + i:04d}-ID" for i in range(count)]
        start += count
        block = pd.DataFrame({"resident_key": ids, **{k: [v] * count for k, v in groups.items()}})
        frames.append(block)
    frame = pd.concat(frames, ignore_index=True)
    return _answer(frame, rng)


def _answer(frame, rng):
    frame = frame.copy()
    for item in ITEMS:
        frame[item] = rng.integers(1, 6, len(frame)).astype(float)
    frame["comment"] = [
        f"private remark by {rid}: my preceptor Dr. Secretname" for rid in frame["resident_key"]
    ]
    return frame


def next_wave(frame, keep, seed, wave=2):
    """The same respondents (rows ``keep``) answering again, with new answers."""
    rng = np.random.default_rng(seed)
    again = frame.loc[keep].copy()
    again["wave"] = wave
    return _answer(again.drop(columns=[*ITEMS, "comment"]), rng)
