"""Import an instrument a program already has: a REDCap dictionary, an XLSForm, a Qualtrics .qsf.

:func:`import_instrument` finds the platform that owns the file (the
``importer`` each :data:`~sdt_survey.platforms.PLATFORMS` record names), has
its importer read it into a draft, infers the Likert scales
(:func:`~sdt_survey.platforms.import_draft.infer_scales`), checks the result
with the instrument validator and hands back an :class:`ImportResult`: the
definition (YAML), and the located report of everything left out, changed or
inferred (``FILE:ROW: field: what and why``). The user then adds subscales
and reverse keys.

Examples
--------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> dictionary = folder / "intake.csv"
>>> _ = dictionary.write_text(
...     '"Variable / Field Name","Form Name","Section Header","Field Type","Field Label",'
...     '"Choices, Calculations, OR Slider Labels"\\n'
...     "record_id,intake,,text,Record ID,\\n"
...     'sleep,intake,,radio,I sleep well,"1, Never | 2, Sometimes | 3, Often"\\n'
...     'rested,intake,,radio,I wake up rested,"1, Never | 2, Sometimes | 3, Often"\\n'
...     "bmi,intake,,calc,BMI,[weight]/([height]*[height])\\n")
>>> result = import_instrument(dictionary)
>>> [item["type"] for item in result.definition["items"]], list(result.definition["scales"])
(['likert', 'likert'], ['never_often'])
>>> print(str(result.report[-1]).replace(str(folder), "FOLDER"))  # doctest: +ELLIPSIS
FOLDER/intake.csv:5: bmi: a calculated field ('[weight]/([height]*[height])') left out: ...
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import pandas as pd

from ..errors import InstrumentError, SdtSurveyError
from ..files import write_text
from ..instrument import plural
from ..results import Result
from .import_draft import Draft, ReportLine, infer_scales, slug


@dataclass
class ImportResult(Result):
    """An imported instrument: its definition and the report of what the import left out or inferred.

    Attributes
    ----------
    definition : dict
        The instrument definition in the YAML format's keys (``yaml_text()``
        is the file). It has no subscales yet: add them, and reverse keys.
    source : str
        The file imported, as named.
    platform : str
        ``redcap``, ``xlsform`` or ``qualtrics``.
    report : list of ReportLine
        One line per field or row: what was left out and why, what was
        renamed, what was inferred (``str(line)`` is ``FILE:ROW: field: ...``).
    paths : list of pathlib.Path
        The files written (the instrument, the report).
    """

    definition: dict[str, Any]
    source: str
    platform: str
    report: list[ReportLine] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    writers: ClassVar[dict[str, str]] = {**Result.writers, ".yaml": "yaml_text", ".yml": "yaml_text"}

    @property
    def counts(self) -> dict[str, int]:
        """Items, sections, scales and report lines by kind."""
        definition = self.definition
        counts = {
            "items": len(definition.get("items", [])),
            "sections": len(definition.get("sections", [])),
            "scales": len(definition.get("scales", {})),
        }
        for kind in ("left out", "changed", "inferred"):
            counts[kind.replace(" ", "_")] = sum(line.kind == kind for line in self.report)
        return counts

    def report_text(self) -> str:
        """The report, one line per finding (``FILE:ROW: field: what and why``)."""
        return "".join(f"{line}\n" for line in self.report)

    def yaml_text(self) -> str:
        """The instrument definition as the YAML file ``sdt-survey validate`` checks."""
        import yaml

        header = (
            f"# Imported from {self.source} ({self.platform}) by sdt-survey import.\n"
            f"# {len(self.report)} report lines: see `sdt-survey import --report`. Add subscales and\n"
            "# reverse keys (docs/instrument-format.md), then `sdt-survey validate` this file.\n"
        )
        return header + yaml.dump(
            self.definition, Dumper=_dumper(), sort_keys=False, allow_unicode=True, width=100
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "platform": self.platform,
            "id": self.definition.get("id"),
            "counts": self.counts,
            "paths": [str(p) for p in self.paths],
            "report": [line.to_dict() for line in self.report],
            "warnings": list(self.warnings),
            "notes": list(self.notes),
        }

    def to_frame(self) -> pd.DataFrame:
        """The report: one row per line (file, row, field, kind, message)."""
        import pandas as pd

        return pd.DataFrame(
            [line.to_dict() for line in self.report], columns=["file", "row", "field", "kind", "message"]
        )

    def summary(self) -> str:
        c = self.counts
        lines = [
            f"{self.source} ({self.platform}) -> {self.definition.get('id')}: "
            f"{plural(c['items'], 'item')} in "
            f"{plural(c['sections'], 'section')}, {plural(c['scales'], 'scale')}; {c['left_out']} left out, "
            f"{c['changed']} changed, {c['inferred']} inferred"
        ]
        lines += [f"  {line}" for line in self.report]
        lines += [f"  written: {p}" for p in self.paths]
        lines += [f"  warning: {w}" for w in self.warnings]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def _dumper():
    import yaml

    class Dumper(yaml.SafeDumper):
        """Mappings as blocks (one key a line, easy to edit); lists of plain values on one line."""

    def represent_list(dumper: yaml.SafeDumper, data: list) -> Any:
        flat = all(isinstance(v, (str, int, float, bool)) for v in data) and len(data) <= 12
        return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flat)

    Dumper.add_representer(list, represent_list)
    return Dumper


def importers() -> dict[str, Any]:
    """Platform name -> its importer module, from the registry (``Platform.importer``)."""
    from . import PLATFORMS

    return {p.name: importlib.import_module(f"{__package__}.{p.importer}") for p in PLATFORMS if p.importer}


def detect_platform(path: Path) -> str:
    """The platform whose importer owns ``path``, or an error listing what is understood."""
    found = [name for name, module in importers().items() if module.owns_file(path)]
    if found:
        return found[0]
    raise SdtSurveyError(
        f"{path}: not a file sdt-survey can import: a REDCap data dictionary (.csv), an XLSForm "
        "(.xlsx, or .csv with a survey sheet) or a Qualtrics survey file (.qsf); "
        "name the platform with platform=... (--platform) if the file is one of these"
    )


def import_instrument(
    path: str | Path,
    *,
    platform: str | None = None,
    instrument_id: str | None = None,
    out: str | Path | None = None,
    report: str | Path | None = None,
    overwrite: bool = False,
) -> ImportResult:
    """Import an instrument from a REDCap data dictionary, an XLSForm or a Qualtrics .qsf file.

    Parameters
    ----------
    path : path
        The file: a REDCap data dictionary (``.csv``), an XLSForm (``.xlsx``,
        or the ``.csv`` layout pyxform reads) or a Qualtrics survey file
        (``.qsf``).
    platform : {"redcap", "xlsform", "qualtrics"}, optional
        The file's platform (detected from the file when not given).
    instrument_id : str, optional
        The new instrument's id (default: from the name of ``out``, else of ``path``).
    out : path, optional
        Write the instrument definition (YAML) here, atomically.
    report : path, optional
        Write the report here (one ``FILE:ROW: field: ...`` line each).
    overwrite : bool
        Replace ``out`` and ``report`` if they exist (otherwise an error).

    Returns
    -------
    ImportResult
        The definition (valid: it loads) and the report of everything left
        out, changed or inferred.

    Raises
    ------
    SdtSurveyError
        When the file cannot be read as the platform's file (naming the row).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> form = pathlib.Path(tempfile.mkdtemp()) / "visit.csv"
    >>> _ = form.write_text(
    ...     "survey,,,,\\n,type,name,label,relevant\\n,integer,age,Age in years,\\n"
    ...     ",text,school,School,${age} < 19\\n")
    >>> result = import_instrument(form)
    >>> result.definition["items"][1]["show_if"]
    'age < 19'
    """
    source = Path(path)
    if not source.is_file():
        raise SdtSurveyError(f"{source}: no such file")
    available = importers()
    if platform is None:
        platform = detect_platform(source)
    elif platform not in available:
        raise SdtSurveyError(f"unknown platform {platform!r}; one of {', '.join(available)}")
    draft: Draft = available[platform].read_instrument(source, str(path))
    infer_scales(draft)
    identifier = instrument_id or _instrument_id(Path(out) if out is not None else source)
    definition = draft.definition(identifier)
    located = sorted((line for line in draft.report if line.row is not None), key=lambda line: line.row)
    lines = located + [line for line in draft.report if line.row is None]
    result = ImportResult(definition, str(path), platform, lines)
    _check(result)
    if out is not None:
        result.paths.append(write_text(out, result.yaml_text(), overwrite=overwrite))
    if report is not None:
        result.paths.append(write_text(report, result.report_text(), overwrite=overwrite))
    return result


def _instrument_id(path: Path) -> str:
    text = slug(path.stem, "-")
    text = re.sub(r"-+", "-", text)
    if not text or not text[0].isalpha():
        text = f"imported-{text}".rstrip("-")
    return text


def _check(result: ImportResult) -> None:
    """The definition must load: a problem here is the importer's, named with the file."""
    from ..instrument import parse_instrument

    try:
        parse_instrument(result.yaml_text(), f"<import of {result.source}>")
    except InstrumentError as exc:
        raise SdtSurveyError(
            f"{result.source}: the imported instrument does not validate; the file holds something the "
            f"import does not yet handle (please report it, with the file):\n{exc}"
        ) from exc
