"""The end-to-end demonstration behind ``sdt-survey demo``.

The demo runs every stage the package has on an embedded default, with no data
of the user's own and no network, and writes each stage's outputs to one
folder. Each stage is a function here; later capabilities add a stage.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .instrument import Instrument, bundled_instruments, check_instrument

DEFAULT_OUT = Path("sdt-survey-demo")


@dataclass
class DemoStage:
    """What one stage did: a one-line account and the files it wrote."""

    name: str
    summary: str
    outputs: list[Path] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "summary": self.summary,
            "outputs": [str(p) for p in self.outputs],
            "seconds": round(self.seconds, 3),
        }


@dataclass
class DemoResult:
    """Everything the demo did, stage by stage."""

    out_dir: Path
    stages: list[DemoStage] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"out_dir": str(self.out_dir), "stages": [s.to_dict() for s in self.stages]}

    def summary(self) -> str:
        lines = [f"sdt-survey demo: outputs in {self.out_dir}"]
        for stage in self.stages:
            lines.append(f"  {stage.name}: {stage.summary} ({stage.seconds:.2f} s)")
            lines.extend(f"      {path}" for path in stage.outputs)
        return "\n".join(lines)


def _stage_instruments(out_dir: Path) -> tuple[str, list[Path]]:
    """Validate every bundled instrument and write its item table and definition."""
    folder = out_dir / "instruments"
    folder.mkdir(parents=True, exist_ok=True)
    outputs: list[Path] = []
    loaded: list[Instrument] = []
    for name in bundled_instruments():
        instrument, problems = check_instrument(name)
        if instrument is None:
            # A bundled file that fails validation is a packaging bug, not a user error.
            raise RuntimeError(f"bundled instrument {name} is invalid:\n" + "\n".join(map(str, problems)))
        loaded.append(instrument)
        table = folder / f"{instrument.id}.items.csv"
        instrument.to_frame().to_csv(table, index=False)
        definition = folder / f"{instrument.id}.json"
        definition.write_text(json.dumps(instrument.to_dict(), indent=2, ensure_ascii=False) + "\n")
        outputs += [table, definition]
    n_items = sum(len(inst.items) for inst in loaded)
    n_subscales = sum(len(inst.subscales) for inst in loaded)
    return (
        f"{len(loaded)} bundled instruments valid ({n_items} items, {n_subscales} subscales)",
        outputs,
    )


STAGES: list[tuple[str, Callable[[Path], tuple[str, list[Path]]]]] = [
    ("instruments", _stage_instruments),
]


def run_demo(out_dir: str | Path = DEFAULT_OUT, progress: Callable[[str], None] | None = None) -> DemoResult:
    """Run every stage of the pipeline on the embedded default.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        Folder for the outputs (created if needed).
    progress : callable, optional
        Called with a short message as each stage starts.

    Returns
    -------
    DemoResult

    Examples
    --------
    >>> import tempfile
    >>> result = run_demo(tempfile.mkdtemp())
    >>> [stage.name for stage in result.stages]
    ['instruments']
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = DemoResult(out_dir)
    for name, stage in STAGES:
        if progress is not None:
            progress(f"{name} ...")
        started = time.perf_counter()
        summary, outputs = stage(out_dir)
        result.stages.append(DemoStage(name, summary, outputs, time.perf_counter() - started))
    (out_dir / "demo.json").write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    return result
