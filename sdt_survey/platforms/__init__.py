"""Survey platforms: one module per platform, and THE registry of them (layer 3).

Each platform's module owns everything about its files: writing the survey
(``write``), and, for platforms whose collected data come back in a layout
of their own, detecting (``detect``), preparing (``prepare``), matching
(``match_columns``) and, for a file only it can read, reading
(``owns_file``/``read_table``) them. :data:`PLATFORMS` lists them once;
everything else is derived from it: the export targets (``--to``), the
response sources (``--source``), the alias key each source uses, and the
keys an item's ``aliases`` may use (registered with the instrument layer,
which never imports this one).

Adding a platform is one new module plus one line in :data:`PLATFORMS`
(see docs/architecture.md).

Examples
--------
>>> import tempfile, pathlib, sdt_survey
>>> out = pathlib.Path(tempfile.mkdtemp()) / "bpn.csv"
>>> result = sdt_survey.export_survey("bpn-residency", "redcap", out)
>>> result.paths == [out]
True
>>> list(TARGETS)
['redcap', 'qualtrics', 'xlsform', 'reproschema', 'html', 'markdown', 'pdf']
>>> SOURCES
('auto', 'plain', 'redcap', 'qualtrics', 'odk', 'reproschema', 'html')
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from ..errors import SdtSurveyError
from ..instrument import Instrument, register_alias_target
from .result import ExportResult
from .survey import Survey, SurveySection, build_survey, html_line, quote_without_escapes, read_texts


@dataclass(frozen=True)
class Target:
    """One export target: the function that writes it and what ``out`` names.

    ``options`` are the keyword options only this target takes (``post_url``);
    ``folder`` is true when ``out`` is a folder.
    """

    name: str
    out: str
    suffix: str
    writer: str = "write"
    options: tuple[str, ...] = ()
    folder: bool = False


@dataclass(frozen=True)
class Platform:
    """One platform: its module, what it writes, and how its collected data are read back.

    Attributes
    ----------
    name : str
        The key of an item's ``aliases`` for this platform (when ``aliases``).
    title : str
        The platform's name in prose.
    module : str or None
        ``sdt_survey.platforms.<module>``; ``None`` for a data-file layout read
        by the generic readers only (SPSS).
    targets : tuple of Target
        What it exports.
    source : str or None
        Its response layout's name for ``read_responses(source=...)``;
        ``None`` when its data do not come back in a layout of their own.
    aliases : bool
        Whether an item may carry an alias (a column name) for it.
    id_column : str or None
        The column that identifies a respondent in its response exports
        (REDCap's ``record_id``, Qualtrics' ``ResponseId``): the intake uses it
        when no id column is named, and says so.
    importer : str or None
        ``sdt_survey.platforms.<importer>``: the module that reads the
        platform's own survey definitions into an instrument (``sdt-survey
        import``; ``owns_file(path)`` and ``read_instrument(path, display)``).
    """

    name: str
    title: str
    module: str | None
    targets: tuple[Target, ...] = ()
    source: str | None = None
    aliases: bool = True
    id_column: str | None = None
    importer: str | None = None

    def load(self) -> ModuleType | None:
        """The platform's module (imported on first use: PDF and XLSForm writers are heavy)."""
        return importlib.import_module(f"{__name__}.{self.module}") if self.module else None

    def hook(self, name: str) -> Callable[..., Any] | None:
        """The module's function ``name`` (``detect``, ``prepare``, ...), or ``None`` without one."""
        module = self.load()
        return getattr(module, name, None) if module is not None else None


#: Every platform, once. The order is the order of the lists derived from it.
PLATFORMS: tuple[Platform, ...] = (
    Platform("redcap", "REDCap", "redcap",
             (Target("redcap", "a .csv data dictionary", ".csv", options=("with_scores",)),), "redcap",
             id_column="record_id", importer="redcap_import"),
    Platform(
        "qualtrics", "Qualtrics", "qualtrics", (Target("qualtrics", "a .txt Advanced Format file", ".txt"),),
        "qualtrics", id_column="ResponseId", importer="qualtrics_import",
    ),
    Platform("xlsform", "ODK/KoboToolbox", "xlsform",
             (Target("xlsform", "an .xlsx XLSForm", ".xlsx", options=("with_scores",)),), "odk",
             importer="xlsform_import"),
    Platform(
        "reproschema", "ReproSchema", "reproschema", (Target("reproschema", "a folder", "", folder=True),),
        "reproschema",
    ),
    Platform("html", "the HTML form", "html",
             (Target("html", "an .html file", ".html", options=("post_url",)),), "html"),
    Platform("spss", "SPSS/Stata data files", None),
    Platform(
        "paper", "paper", "paper",
        (Target("markdown", "a .md file", ".md", "write_markdown"),
         Target("pdf", "a .pdf file", ".pdf", "write_pdf", ("page_size",))),
        aliases=False,
    ),
)  # fmt: skip

for _platform in PLATFORMS:
    if _platform.aliases:
        register_alias_target(_platform.name)

#: Export target -> (the module that writes it, what ``out`` names).
TARGETS: dict[str, tuple[str, str]] = {
    t.name: (p.module, t.out) for p in PLATFORMS if p.module for t in p.targets
}
#: What ``read_responses(source=...)`` accepts: ``auto`` (detect), ``plain`` (no platform), then each layout.
SOURCES: tuple[str, ...] = ("auto", "plain", *(p.source for p in PLATFORMS if p.source))
#: The item alias key that applies to each source.
ALIAS_TARGET_OF_SOURCE: dict[str, str] = {p.source: p.name for p in PLATFORMS if p.source}


def platform_of_target(target: str) -> tuple[Platform, Target]:
    """The platform that writes ``target``, and the target's record."""
    for platform in PLATFORMS:
        for record in platform.targets:
            if record.name == target:
                return platform, record
    raise SdtSurveyError(f"unknown target {target!r}; one of {', '.join(TARGETS)}")


def reading_platforms() -> list[Platform]:
    """The platforms whose collected data come back in a layout of their own, in registry order."""
    return [p for p in PLATFORMS if p.source]


def platform_of_source(source: str) -> Platform | None:
    """The platform behind a source name (``None`` for ``plain``)."""
    return next((p for p in PLATFORMS if p.source == source), None)


def export_survey(
    instruments: Instrument | str | Path | Sequence[Instrument | str | Path],
    target: str,
    out: str | Path,
    *,
    language: str | None = None,
    texts: str | Path | Mapping[str, str | Mapping[str, str]] | None = None,
    overwrite: bool = False,
    **options: Any,
) -> ExportResult:
    """Write a deployable survey for ``target``.

    Parameters
    ----------
    instruments : Instrument, name, path, or a list of them
    target : {"redcap", "qualtrics", "xlsform", "reproschema", "html", "markdown", "pdf"}
        Any target in :data:`TARGETS`.
    out : path
        The file (or, for ReproSchema, the folder) to write.
    language, texts
        See :func:`build_survey`.
    overwrite : bool
        Replace an existing output (``--force``); otherwise it is an error.
        Files are written atomically, and a ReproSchema folder only ever has
        the export's own files replaced (docs/safety.md).
    **options
        Target-specific options (e.g. ``post_url`` for ``html``).

    Returns
    -------
    ExportResult
    """
    platform, record = platform_of_target(target)
    survey = build_survey(instruments, language=language, texts=texts)
    writer = getattr(platform.load(), record.writer)
    return writer(survey, Path(out), overwrite=overwrite, **options)


__all__ = [
    "ALIAS_TARGET_OF_SOURCE",
    "PLATFORMS",
    "SOURCES",
    "TARGETS",
    "ExportResult",
    "Platform",
    "Survey",
    "SurveySection",
    "Target",
    "build_survey",
    "export_survey",
    "html_line",
    "platform_of_source",
    "platform_of_target",
    "quote_without_escapes",
    "read_texts",
    "reading_platforms",
]
