"""Report: the leaders' report as JSON-ready data, with its HTML page and text summary."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from .._terminal import terminal_text
from ..files import OutputError, Transaction, write_text
from ..results import Result
from .html import render_html
from .text import summary_text


@dataclass
class Report(Result):
    """A report: header and six sections of aggregate numbers, plain sentences and commands.

    Build one with :func:`build_report`. It holds only what :meth:`to_dict`
    returns (JSON-ready data, every suppressed figure ``None``); the HTML is
    rendered from that data.

    Attributes
    ----------
    content : dict
        ``{"format", "format_version", "header", "sections"}``; ``sections`` maps
        each key of :data:`SECTION_TITLES` to ``{"title", "status", "explanation",
        "source", "reason", "notes", "data"}``. ``status`` is ``"ok"``,
        ``"not_available"`` (``reason`` says why) or ``"suppressed"`` (too few
        respondents to show anything).

    :attr:`notes` and :attr:`warnings` gather every section's notes (a
    warning is a note that starts with ``"warning: "``).
    """

    content: dict[str, Any]

    #: ``.html`` writes the page (and its JSON beside it, see :meth:`write`); the rest as every result.
    writers: ClassVar[dict[str, str]] = {**Result.writers, ".html": "to_html", ".htm": "to_html"}

    # -- data ----------------------------------------------------------------------
    @property
    def sections(self) -> dict[str, dict[str, Any]]:
        """The sections by key (the same objects as in :attr:`content`)."""
        return self.content["sections"]

    def _section_notes(self, warnings: bool) -> tuple[str, ...]:
        found = (
            note
            for section in self.sections.values()
            for note in section.get("notes", [])
            if note.startswith("warning: ") == warnings
        )
        return tuple(dict.fromkeys(found))

    @property
    def notes(self) -> tuple[str, ...]:  # type: ignore[override]
        """Every section's notes, warnings apart (each once, in section order)."""
        return self._section_notes(warnings=False)

    @property
    def warnings(self) -> tuple[str, ...]:  # type: ignore[override]
        """The warnings the stages raised (notes that start with ``"warning: "``)."""
        return self._section_notes(warnings=True)

    def to_frame(self) -> pd.DataFrame:
        """One row per section: key, title, status, the reason when it is not shown, and its notes."""
        return pd.DataFrame(
            [
                {
                    "section": key,
                    "title": section.get("title"),
                    "status": section.get("status"),
                    "reason": section.get("reason"),
                    "notes": " | ".join(section.get("notes", [])),
                }
                for key, section in self.sections.items()
            ],
            columns=["section", "title", "status", "reason", "notes"],
        )

    def to_dict(self) -> dict[str, Any]:
        """The whole report as JSON-ready data (a deep copy).

        Examples
        --------
        >>> from sdt_survey.report import SECTION_TITLES, build_report
        >>> from sdt_survey.simulate import simulate
        >>> data = simulate("program-belonging", seed=2, n_programs=2, residents_per_program=(9, 9))
        >>> content = build_report("program-belonging", data.responses, id_column="resident").to_dict()
        >>> list(content["sections"]) == list(SECTION_TITLES)
        True
        """
        return copy.deepcopy(self.content)

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON text (``NaN`` never appears: it is ``null``)."""
        return json.dumps(self.content, indent=indent, ensure_ascii=False, allow_nan=False)

    def write_json(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write :meth:`to_json` to ``path`` (UTF-8, atomically) and return the path.

        An existing file is replaced only with ``overwrite=True``.
        """
        return write_text(path, self.to_json() + "\n", overwrite=overwrite)

    def write(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the report in the format the suffix names, and return the path.

        ``.html`` is the self-contained page, written together with its JSON
        beside it (the page's name with ``.json``: both or neither, as
        :meth:`write_pair`), so a page never goes without the data it shows;
        ``.json`` is :meth:`to_json`; ``.txt``/``.md`` the :meth:`summary`;
        ``.csv`` the sections table (:meth:`to_frame`). Atomically; an existing
        file is replaced only with ``overwrite=True``.
        """
        path = Path(path)
        if path.suffix.lower() in (".html", ".htm"):
            return _write_pair(self, path, overwrite)[0]
        return Result.write(self, path, overwrite=overwrite)

    def write_pair(self, path: str | Path, *, overwrite: bool = False) -> tuple[Path, Path]:
        """Write the HTML report to ``path`` and its JSON beside it, both or neither.

        The JSON takes the HTML's name with ``.json``. Both files are staged
        and put in place together (see :class:`sdt_survey.files.Transaction`),
        so a failure or an interrupt leaves neither half-written. This is what
        ``sdt-survey report --out`` writes.

        Returns
        -------
        (pathlib.Path, pathlib.Path)
            The HTML and the JSON.
        """
        return _write_pair(self, Path(path), overwrite)

    # -- HTML ----------------------------------------------------------------------
    def to_html(self) -> str:
        """The report as one self-contained HTML page (see :meth:`write_html`)."""
        return render_html(self.to_dict())

    def write_html(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the report as one self-contained HTML file and return its path.

        The page loads nothing: inline CSS, plots as PNG ``data:`` URIs, no
        script, and a Content-Security-Policy (``default-src 'none'``) that
        forbids any request.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from sdt_survey.report import SECTION_TITLES, build_report
        >>> from sdt_survey.simulate import simulate
        >>> data = simulate("program-belonging", seed=2, n_programs=2, residents_per_program=(9, 9))
        >>> report = build_report("program-belonging", data.responses, id_column="resident")
        >>> page = report.write_html(pathlib.Path(tempfile.mkdtemp()) / "report.html")
        >>> "default-src 'none'" in page.read_text(encoding="utf-8")
        True
        """
        return write_text(path, self.to_html(), overwrite=overwrite)

    # -- text ----------------------------------------------------------------------
    def summary(self) -> str:
        """A few readable lines per section, for the terminal.

        Examples
        --------
        >>> from sdt_survey.report import SECTION_TITLES, build_report
        >>> from sdt_survey.simulate import simulate
        >>> data = simulate("program-belonging", seed=2, n_programs=2, residents_per_program=(9, 9))
        >>> text = build_report("program-belonging", data.responses, id_column="resident").summary()
        >>> text.splitlines()[0].startswith("Report: program-belonging")
        True
        """
        # File names, formulas and notes quote the user's input: no control character reaches the terminal.
        return terminal_text(summary_text(self.content))

    def __str__(self) -> str:
        return self.summary()


def _write_pair(report: Any, html_path: Path, overwrite: bool) -> tuple[Path, Path]:
    json_path = html_path.with_suffix(".json")
    if html_path.suffix.lower() == ".json":
        raise OutputError(f"{html_path}: the HTML report and its JSON would be the same file; name it .html")
    with Transaction(overwrite=overwrite) as files:
        files.stage(html_path).write_text(report.to_html(), encoding="utf-8")
        files.stage(json_path).write_text(report.to_json() + "\n", encoding="utf-8")
    return html_path, json_path
