"""A study: clean every wave once, then analyse the analysis data set many times.

:class:`Study` reads a study file (:mod:`sdt_survey.study.schema`),
:meth:`Study.clean` runs the intake stage (:func:`~sdt_survey.scoring.score`)
once over every wave with the recorded decisions and writes the analysis data
set (Parquet) with a manifest (JSON): the package version, the SHA-256 of the
study file and of every instrument and input file, every decision with the
rows it touched, and the quality report. :attr:`Study.data` gives the
analysis data set back from those files without reading a raw export again.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .._spreadsheet_safe import restore_frame, write_csv
from .._version import __version__
from ..errors import SdtSurveyError
from ..files import OutputError, atomic_output, file_sha256, write_text
from ..instrument import load_instruments, resolve_instrument_path
from ..responses import ITEM_PREFIX, DataQualityReport, read_responses
from ..responses.model import ISSUE_COLUMNS
from ..results import Result, jsonable
from ..scoring import ScoredResponses, score
from .schema import StudySpec, parse_study
from .template import write_study_file

MANIFEST = "manifest.json"
#: The analysis data set's files in the outputs folder: the scores table, then what rebuilds the rest.
DATA_FILES = {
    "scores": "analysis.parquet",
    "items": "analysis-items.parquet",
    "keyed": "analysis-keyed.parquet",
}
QUALITY_FILE = "quality.csv"


@dataclass
class StudyCleanResult(Result):
    """What :meth:`Study.clean` did: cleaned (and why), or nothing because nothing changed.

    Attributes
    ----------
    study : str
        The study file.
    cleaned : bool
        Whether the intake ran (``False``: the data set was up to date).
    reason : str
        Why it ran, or why not, in words (changed inputs are named).
    manifest : dict
        The manifest as written (or as found, when nothing changed).
    files : dict
        The files of the analysis data set, by role.
    """

    study: str
    cleaned: bool
    reason: str
    manifest: dict[str, Any]
    files: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "study": self.study,
                "cleaned": self.cleaned,
                "reason": self.reason,
                "files": self.files,
                "manifest": self.manifest,
                "notes": self.notes,
                "warnings": self.warnings,
            }
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per decision, with its policy and the rows it touched."""
        rows = self.manifest.get("decisions", [])
        return pd.DataFrame(rows, columns=["decision", "policy", "rows", "detail"])

    def summary(self) -> str:
        lines = [f"{self.study}: {self.reason}"]
        n = self.manifest.get("n_respondents")
        if n is not None:
            lines.append(f"  analysis data set: {n} respondents in {self.files.get('scores', '?')}")
        for d in self.manifest.get("decisions", []):
            lines.append(f"  {d['decision']}: {d['policy']} ({d['rows']} rows; {d['detail']})")
        if self.files.get("manifest"):
            lines.append(f"  manifest: {self.files['manifest']}")
        lines.extend(f"  warning: {w}" for w in self.warnings)
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)


def _instrument_file(name: str) -> Path:
    return resolve_instrument_path(name)


def _rows(issues: pd.DataFrame, problems: set[str], severity: str | None = None) -> int:
    chosen = issues[issues["problem"].isin(problems)]
    if severity is not None:
        chosen = chosen[chosen["severity"] == severity]
    return int(chosen[["wave_file", "row"]].drop_duplicates().shape[0]) if len(chosen) else 0


class Study:
    """A study file with its analysis data set.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sdt_survey.simulate import simulate
    >>> from sdt_survey.reliability import instrument_reliability
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = simulate("bpn-residency", seed=1, n_programs=4).write_folder(folder)
    >>> study = Study.init(folder)  # a commented study.yaml naming responses_w1.csv, responses_w2.csv
    >>> study.clean().cleaned, study.clean().cleaned  # the second time, nothing changed
    (True, False)
    >>> report = instrument_reliability(study.instruments, study.data)  # no raw file read again
    >>> len(study.data.scores) == study.read_manifest()["n_respondents"]
    True
    """

    def __init__(self, spec: StudySpec):
        self.spec = spec

    @classmethod
    def init(cls, folder: str | Path = ".", *, overwrite: bool = False, **settings: Any) -> Study:
        """Write a commented ``study.yaml`` in ``folder`` and load it (see :func:`.write_study_file`)."""
        return cls.load(write_study_file(folder, overwrite=overwrite, **settings))

    @classmethod
    def load(cls, path: str | Path) -> Study:
        """Read and check a study file (:class:`~sdt_survey.errors.StudyError` lists every problem)."""
        return cls(parse_study(path))

    # -- where things are ---------------------------------------------------------------------------
    @property
    def path(self) -> Path:
        return self.spec.path

    @property
    def instruments(self) -> list[str]:
        """The instruments, as bundled names or absolute paths."""
        return self.spec.instrument_paths()

    @property
    def outputs(self) -> Path:
        return self.spec.outputs

    @property
    def manifest_path(self) -> Path:
        return self.outputs / MANIFEST

    def data_files(self) -> dict[str, Path]:
        return {role: self.outputs / name for role, name in DATA_FILES.items()}

    # -- fingerprints -------------------------------------------------------------------------------
    def fingerprint(self) -> dict[str, Any]:
        """Package version and the SHA-256 of the study file and of every instrument and input file."""
        spec = self.spec
        inputs = {self.relative(w.file): file_sha256(w.file) for w in spec.waves}
        if spec.schedule is not None:
            inputs[self.relative(spec.schedule.file)] = file_sha256(spec.schedule.file)
        return {
            "package_version": __version__,
            "study_file": {spec.path.name: file_sha256(spec.path)},
            "instruments": {name: file_sha256(_instrument_file(name)) for name in spec.instruments},
            "inputs": inputs,
        }

    def relative(self, path: str | Path) -> str:
        """``path`` as seen from the study file's folder: the manifest stays true when the study moves."""
        return Path(os.path.relpath(Path(path).resolve(), self.spec.path.resolve().parent)).as_posix()

    def read_manifest(self) -> dict[str, Any] | None:
        """The manifest of the last clean, or ``None`` when there is none."""
        if not self.manifest_path.is_file():
            return None
        try:
            return json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SdtSurveyError(
                f"{self.manifest_path}: cannot read the manifest ({exc}); clean again"
            ) from exc

    def changes(self) -> list[str]:
        """What changed since the last clean, in words (empty: the analysis data set is up to date)."""
        manifest = self.read_manifest()
        if manifest is None:
            return ["no analysis data set yet"]
        missing = [str(p) for p in self.data_files().values() if not p.is_file()]
        if missing:
            return [f"missing {p}" for p in missing]
        now, then = self.fingerprint(), manifest.get("fingerprint", {})
        changed = []
        if now["package_version"] != then.get("package_version"):
            changed.append(f"package version {then.get('package_version')} -> {now['package_version']}")
        for kind in ("study_file", "instruments", "inputs"):
            old = then.get(kind, {})
            for name, digest in now[kind].items():
                if name not in old:
                    changed.append(f"new {kind.rstrip('s').replace('_', ' ')} {name}")
                elif old[name] != digest:
                    changed.append(f"changed: {name}")
            changed.extend(f"removed: {name}" for name in old if name not in now[kind])
        return changed

    @property
    def is_stale(self) -> bool:
        return bool(self.changes())

    # -- the intake, once ---------------------------------------------------------------------------
    def clean(self, force: bool = False) -> StudyCleanResult:
        """Read, validate and score every wave once with the study's decisions; write the data set.

        Parameters
        ----------
        force : bool
            Clean even when nothing changed since the last clean.

        Returns
        -------
        StudyCleanResult
            ``cleaned`` is ``False`` when the inputs, the study file and the
            package version are those the manifest records (nothing is done).
        """
        changes = self.changes()
        if not changes and not force:
            return StudyCleanResult(
                str(self.path),
                cleaned=False,
                reason="unchanged inputs, study file and package version: nothing to do",
                manifest=self.read_manifest() or {},
                files=self._file_names(),
            )
        reason = "forced" if not changes else "; ".join(changes)
        self._check_outputs()  # before any work
        scored, per_wave = self._intake()
        manifest = self._manifest(scored, per_wave)
        self._write(scored, manifest)
        return StudyCleanResult(
            str(self.path),
            cleaned=True,
            reason=f"cleaned: {reason}",
            manifest=manifest,
            files=self._file_names(),
            warnings=list(scored.warnings),
        )

    def _file_names(self) -> dict[str, str]:
        files = {role: str(p) for role, p in self.data_files().items()}
        files["quality"] = str(self.outputs / QUALITY_FILE)
        files["manifest"] = str(self.manifest_path)
        return files

    def _intake(self) -> tuple[ScoredResponses, list[tuple[Any, ScoredResponses]]]:
        spec = self.spec
        instruments = load_instruments(list(spec.instruments))
        options = spec.cleaning.score_options()
        per_wave = []
        for wave in spec.waves:
            read = read_responses(wave.file, instruments, source=wave.source, sheet=wave.sheet)
            read.frame = read.frame.assign(**{spec.wave_column: wave.wave})
            scored = score(
                instruments, read, id_column=spec.id_column, wave_column=spec.wave_column, **options
            )
            per_wave.append((wave, scored))
        return _combine(per_wave, spec), per_wave

    def _manifest(self, scored: ScoredResponses, per_wave: list) -> dict[str, Any]:
        cleaning = self.spec.cleaning
        issues = scored.report.issues
        careless_rows = int(scored.scores["careless"].sum()) if "careless" in scored.scores else 0
        excluded = _rows(issues, {"careless_excluded"})
        decisions = [
            {
                "decision": "invalid",
                "policy": cleaning.invalid,
                "rows": _rows(issues, set(issues["problem"]), "error"),
                "detail": f"{int((issues['severity'] == 'error').sum())} invalid cells set to missing",
            },
            {
                "decision": "duplicates",
                "policy": cleaning.duplicates,
                "rows": _rows(issues, {"duplicate_id", "duplicate_dropped"}),
                "detail": f"{_rows(issues, {'duplicate_dropped'})} duplicate records dropped",
            },
            {
                "decision": "empty rows",
                "policy": "reported",
                "rows": _rows(issues, {"empty_row", "blank_line"}),
                "detail": "records with no answer",
            },
            {
                "decision": "missing codes",
                "policy": "as missing",
                "rows": _rows(issues, {"missing_code"}),
                "detail": "codes such as -99 declared missing by the instrument",
            },
            {
                "decision": "careless",
                "policy": cleaning.careless,
                "rows": excluded if cleaning.careless == "exclude" else careless_rows,
                "detail": f"thresholds {cleaning.careless_thresholds or 'default'}",
            },
            {
                "decision": "identifiers",
                "policy": cleaning.identifiers,
                "rows": 0,
                "detail": f"columns dropped: {', '.join(scored.dropped_columns) or 'none'}",
            },
            {
                "decision": "qualtrics status",
                "policy": cleaning.qualtrics_status,
                "rows": _rows(
                    issues, {"response_preview", "response_test", "response_spam", "response_unfinished"}
                ),
                "detail": "; ".join(
                    str(s.report.decisions["qualtrics_status"])
                    for _, s in per_wave
                    if "qualtrics_status" in s.report.decisions
                )
                or "no Qualtrics export",
            },
            {
                "decision": "drift",
                "policy": cleaning.drift,
                "rows": 0,
                "detail": f"{int(issues['problem'].astype(str).str.startswith('drift_').sum())} differences "
                "between the files and the definitions (quality.csv lists them)",
            },
            {
                "decision": "pseudonymize",
                "policy": "key file" if cleaning.pseudonymize_key else "off",
                "rows": len(scored.scores) if cleaning.pseudonymize_key else 0,
                "detail": str(cleaning.pseudonymize_key or "ids kept as read"),
            },
        ]
        return jsonable(
            {
                "study": str(self.path),
                "fingerprint": self.fingerprint(),
                "instruments": list(self.spec.instruments),
                "id_column": self.spec.id_column,
                "wave_column": self.spec.wave_column,
                "waves": [
                    {
                        "wave": w.wave,
                        "file": self.relative(w.file),
                        "source": w.source,
                        "n_records": s.report.n_records,
                    }
                    for w, s in per_wave
                ],
                "n_respondents": len(scored.scores),
                "decisions": decisions,
                "dropped_columns": scored.dropped_columns,
                "dropped_reasons": scored.dropped_reasons,
                "notes": scored.notes,
                "warnings": scored.warnings,
                "quality": {k: v for k, v in scored.report.to_dict().items() if k != "issues"},
                "files": {role: name for role, name in DATA_FILES.items()} | {"quality": QUALITY_FILE},
            }
        )

    def _check_outputs(self) -> None:
        """Refuse to replace files a clean of this study did not write (they have no manifest beside them)."""
        if self.manifest_path.is_file():
            return  # an earlier clean wrote them: cleaning again replaces its own files
        targets = [*self.data_files().values(), self.outputs / QUALITY_FILE]
        theirs = [str(p) for p in targets if p.exists()]
        if theirs:
            raise OutputError(
                f"{', '.join(theirs)} already exist and were not written by a clean of {self.path} "
                f"(no {MANIFEST} beside them); move them, or name another outputs folder in the study file"
            )

    def _write(self, scored: ScoredResponses, manifest: dict[str, Any]) -> None:
        self.outputs.mkdir(parents=True, exist_ok=True)
        scores = scored.scores
        if len(scored.items) == len(scores):
            # The items ride along as item_<id> columns, so any command reads analysis.parquet directly.
            items = scored.items.set_axis(scores.index).add_prefix(ITEM_PREFIX)
            scores = scores.join(items.drop(columns=[c for c in items if c in scores.columns]))
        frames = {"scores": scores, "items": scored.items, "keyed": scored.keyed}
        for role, path in self.data_files().items():
            with atomic_output(path, overwrite=True) as tmp:
                frames[role].to_parquet(tmp, index=False)
        # Spreadsheet-safe: the report quotes cells of the raw data as written.
        write_text(self.outputs / QUALITY_FILE, write_csv(scored.report.issues, index=False), overwrite=True)
        # The manifest last: it vouches for the files above.
        write_text(self.manifest_path, json.dumps(manifest, indent=1, allow_nan=False) + "\n", overwrite=True)

    # -- the analysis data set ----------------------------------------------------------------------
    @property
    def data(self) -> ScoredResponses:
        """The analysis data set, read from the Parquet files and the manifest (no raw file is read).

        Raises :class:`~sdt_survey.errors.SdtSurveyError` when the study was not
        cleaned, or when an input changed since (run :meth:`clean`).
        """
        changes = self.changes()
        if changes:
            raise SdtSurveyError(
                f"{self.path}: the analysis data set is not up to date ({'; '.join(changes)}); "
                "clean the study first (Study.clean())"
            )
        manifest = self.read_manifest() or {}
        frames = {role: pd.read_parquet(path) for role, path in self.data_files().items()}
        scores = frames["scores"]
        frames["scores"] = scores.drop(columns=[c for c in scores if str(c).startswith(ITEM_PREFIX)])
        issues = pd.read_csv(self.outputs / QUALITY_FILE, dtype=str, keep_default_na=False)
        issues = restore_frame(issues.reindex(columns=ISSUE_COLUMNS)).replace("", None)
        quality = manifest.get("quality", {})
        report = DataQualityReport(
            issues=issues,
            path=quality.get("file", str(self.path)),
            n_records=int(quality.get("n_records", 0)),
            invalid=quality.get("invalid", "error"),
            source=quality.get("source", "plain"),
            detection=quality.get("detection", ""),
            warnings=list(quality.get("warnings", [])),
            notes=list(quality.get("notes", [])),
        )
        return ScoredResponses(
            scores=frames["scores"],
            items=frames["items"],
            keyed=frames["keyed"],
            report=report,
            instruments=load_instruments(list(self.spec.instruments)),
            id_column=manifest.get("id_column"),
            dropped_columns=list(manifest.get("dropped_columns", [])),
            dropped_reasons=dict(manifest.get("dropped_reasons", {})),
            notes=list(manifest.get("notes", [])),
            warnings=list(manifest.get("warnings", [])),
            wave_column=manifest.get("wave_column"),
            source=str(self.path),
        )

    def ensure_clean(self) -> tuple[ScoredResponses, StudyCleanResult | None]:
        """The analysis data set, cleaning first when it is missing or stale (the clean result, else None)."""
        cleaned = self.clean() if self.is_stale else None
        return self.data, cleaned


def _combine(per_wave: list[tuple[Any, ScoredResponses]], spec: StudySpec) -> ScoredResponses:
    """One analysis data set from the waves' (each wave's report lines name its file)."""
    if len(per_wave) == 1:
        wave, only = per_wave[0]
        issues = only.report.issues.assign(wave_file=str(wave.file))
        return _with_issues(only, issues, str(wave.file), only.report.n_records)
    frames = {"scores": [], "items": [], "keyed": [], "issues": []}
    for wave, scored in per_wave:
        frames["scores"].append(scored.scores)
        frames["items"].append(scored.items)
        frames["keyed"].append(scored.keyed)
        lines = scored.report.issues.copy()
        lines["message"] = f"{wave.file.name}: " + lines["message"].astype(str)
        frames["issues"].append(lines.assign(wave_file=str(wave.file)))
    first = per_wave[0][1]
    combined = ScoredResponses(
        scores=pd.concat(frames["scores"], ignore_index=True),
        items=pd.concat(frames["items"], ignore_index=True),
        keyed=pd.concat(frames["keyed"], ignore_index=True),
        report=first.report,
        instruments=first.instruments,
        id_column=first.id_column,
        dropped_columns=list(dict.fromkeys(c for _, s in per_wave for c in s.dropped_columns)),
        dropped_reasons={k: v for _, s in per_wave for k, v in s.dropped_reasons.items()},
        notes=list(dict.fromkeys(n for _, s in per_wave for n in s.notes)),
        warnings=list(dict.fromkeys(w for _, s in per_wave for w in s.warnings)),
        wave_column=spec.wave_column,
        source=str(spec.path),
    )
    issues = pd.concat(frames["issues"], ignore_index=True)
    paths = ", ".join(str(w.file) for w, _ in per_wave)
    return _with_issues(combined, issues, paths, sum(s.report.n_records for _, s in per_wave))


def _with_issues(scored: ScoredResponses, issues: pd.DataFrame, path: str, n: int) -> ScoredResponses:
    from dataclasses import replace

    report = replace(scored.report, issues=issues, path=path, n_records=n)
    return replace(scored, report=report)
