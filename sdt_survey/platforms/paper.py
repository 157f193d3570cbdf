"""The ``markdown`` and ``pdf`` targets: the survey on paper.

Both targets lay out the same questionnaire in one language:

* numbered questions, section titles and their instructions (preambles),
* Likert items that share a scale as a grid with one tick box (☐) per scale
  label, in the scale's natural order (reverse-keyed items too),
* single and multiple choice as tick boxes, numbers, dates and text as
  spaces to write in, with what to write ("a whole number from 0 to 40"),
* each ``show_if`` as a skip instruction in words ("Answer only if question
  1 is “Yes” and question 2 is more than 0."),
* the answer codes beside the labels, for whoever types the answers in, and
* a footer with the instrument ids and versions the form was made from, and their stamp
  (``id@version#hash``, the hash cut to 12 hex digits; docs/exporting.md).

The PDF is drawn with fpdf2, in pure Python, with the DejaVu Sans font that
ships inside matplotlib (accents, ``¿``, ``ñ`` and ``☐`` included), so it
needs no system library or font.

Examples
--------
>>> import tempfile, pathlib, sdt_survey
>>> out = pathlib.Path(tempfile.mkdtemp()) / "clinic.md"
>>> result = sdt_survey.export_survey("continuity-exposure", "markdown", out)
>>> "*Answer only if question 1 is “Yes” and question 2 is more than 0.*" in out.read_text(encoding="utf-8")
True
"""

from __future__ import annotations

import functools
import importlib.util
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .._version import __version__
from ..errors import SdtSurveyError
from ..files import atomic_output, write_text
from ..instrument import Instrument, Item, Note, Scale, code_text
from ..instrument.expressions import BoolOp, Comparison, Expression, Literal, Membership, Name, Not
from .paper_words import PAPER_STRINGS
from .result import ExportResult
from .survey import Survey

TICK_BOX = "☐"


# Negating a comparison in words: "not (x == 1)" reads "x is not 1". Ordering keeps an explicit
# "not", because "not (x < 3)" also holds when x is unanswered, which "x >= 3" does not.
_NEGATED = {"==": "!=", "!=": "==", "<": "not <", "<=": "not <=", ">": "not >", ">=": "not >="}
_FLIPPED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


# --------------------------------------------------------------------------- the paper model


@dataclass(frozen=True)
class PaperQuestion:
    """One numbered question as printed."""

    number: int
    item: Item
    text: str
    condition: str | None = None
    optional: bool = False
    hint: str | None = None


@dataclass(frozen=True)
class PaperOption:
    """A tick box: its label and the code typed in for it."""

    label: str
    code: str


@dataclass
class PaperBlock:
    """A Likert grid (questions sharing ``scale_options``), one question of another kind, or a note."""

    questions: list[PaperQuestion]
    scale_options: list[PaperOption] | None = None
    note: str | None = None

    @property
    def is_grid(self) -> bool:
        return self.scale_options is not None


@dataclass
class PaperSection:
    """A section as printed; ``instrument_title`` is set where a new instrument begins."""

    title: str | None
    preamble: str | None
    blocks: list[PaperBlock] = field(default_factory=list)
    instrument_title: str | None = None


@dataclass
class PaperForm:
    """The whole questionnaire in one language, ready for Markdown or PDF."""

    title: str
    language: str
    words: dict[str, str]
    sections: list[PaperSection]
    footer: str
    provenance: str
    stamp: str = ""

    @property
    def stamp_line(self) -> str:
        """``Definition: bpn-residency@1.0.0#e41c34092eea``: the short stamp, for comparing by eye."""
        return self.say("stamp", stamp=self.stamp) if self.stamp else ""

    def say(self, key: str, **params: object) -> str:
        """One of the questionnaire's own words, with ``{params}`` filled in."""
        return self.words[key].format(**params)


def paper_form(survey: Survey) -> tuple[PaperForm, list[str]]:
    """Lay out ``survey`` for paper in ``survey.language``, with warnings.

    Parameters
    ----------
    survey : Survey

    Returns
    -------
    tuple of (PaperForm, list of str)

    Examples
    --------
    >>> import sdt_survey
    >>> form, warnings = paper_form(sdt_survey.build_survey("continuity-exposure"))
    >>> [q.number for s in form.sections for b in s.blocks for q in b.questions][-1]
    9
    >>> form.sections[0].blocks[2].questions[0].condition
    'Answer only if question 1 is “Yes” and question 2 is more than 0.'
    """
    language = survey.language
    warnings = []
    base = language.split("-", 1)[0].lower()
    if base not in PAPER_STRINGS:
        warnings.append(f"the questionnaire's own words have no {language!r} version; they are in English")
    words = PAPER_STRINGS.get(base, PAPER_STRINGS["en"])
    numbers = {item.id: number for number, item in enumerate(survey.items, start=1)}
    items_by_id = {item.id: item for item in survey.items}
    describe = _ConditionWriter(words, numbers, items_by_id, language)
    sections = []
    previous: Instrument | None = None
    for section in survey.sections:
        printed = PaperSection(
            title=_text_or_none(survey, section.section.title),
            preamble=_text_or_none(survey, section.section.preamble),
        )
        if len(survey.instruments) > 1 and section.instrument is not previous:
            printed.instrument_title = survey.text(section.instrument.title, default=section.instrument.id)
        previous = section.instrument
        for scale, run in _runs(section.layout()):
            if scale is None and isinstance(run[0], Note):
                printed.blocks.append(PaperBlock([], note=survey.text(run[0].text)))
                continue
            questions = [
                PaperQuestion(
                    number=numbers[item.id],
                    item=item,
                    text=survey.item_text(item),
                    condition=(
                        words["answer_only_if"].format(condition=describe(item.show_if))
                        if item.show_if is not None
                        else None
                    ),
                    optional=not item.required,
                    hint=_text_or_none(survey, item.hint),
                )
                for item in run
                if isinstance(item, Item)
            ]
            options = None
            if scale is not None:
                options = [
                    PaperOption(label.get(language), str(value))
                    for value, label in zip(scale.choice_values, scale.choice_labels, strict=True)
                ]
            printed.blocks.append(PaperBlock(questions, options))
        sections.append(printed)
    form = PaperForm(
        title=survey.title,
        language=language,
        words=words,
        sections=sections,
        footer=words["footer"].format(provenance=survey.provenance, version=_package_version()),
        provenance=survey.provenance,
        stamp=survey.short_stamp,
    )
    return form, warnings


def answer_hint(form: PaperForm, item: Item) -> str:
    """What to write or tick for a question that is not in a Likert grid.

    Examples
    --------
    >>> import sdt_survey
    >>> survey = sdt_survey.build_survey("continuity-exposure")
    >>> form, _ = paper_form(survey)
    >>> answer_hint(form, survey.items[1])
    'Write a whole number from 0 to 40.'
    """
    if item.type in ("likert", "single"):
        return form.say("tick_one")
    if item.type == "multiple":
        return form.say("tick_all")
    if item.type == "text":
        return form.say("write_text")
    if item.type == "date":
        return form.say("write_date")
    bounds = {}
    if item.min is not None:
        bounds["min"] = code_text(item.min)
    if item.max is not None:
        bounds["max"] = code_text(item.max)
    suffix = {0: "", 1: f"_{''.join(bounds)}", 2: "_range"}[len(bounds)]
    kind = "number" if item.type == "slider" else item.type
    hint = form.say(f"{kind}{suffix}", **bounds)
    if item.anchors:
        # A slider on paper: a number written in, its ends named.
        ends = [code_text(item.min), *([""] if len(item.anchors) == 3 else []), code_text(item.max)]
        named = [
            f"{end} = {anchor.get(form.language)}" if end else anchor.get(form.language)
            for end, anchor in zip(ends, item.anchors, strict=True)
        ]
        hint += " (" + " … ".join(named) + ")"
    return hint


def options_of(item: Item, language: str) -> list[PaperOption]:
    """The tick boxes of a single, multiple or likert item outside a grid."""
    if item.scale is not None:
        return [
            PaperOption(label.get(language), str(value))
            for value, label in zip(item.scale.choice_values, item.scale.choice_labels, strict=True)
        ]
    return [PaperOption(choice.label.get(language), str(choice.value)) for choice in item.choices]


# --------------------------------------------------------------------------- Markdown


def render_markdown(survey: Survey) -> tuple[str, list[str]]:
    """The questionnaire as Markdown text, and warnings.

    Examples
    --------
    >>> import sdt_survey
    >>> text, _ = render_markdown(sdt_survey.build_survey("program-belonging"))
    >>> print(text.splitlines()[0])
    # Belonging to the Residency Program
    >>> "| **4.** I feel on the margins of my residency program. | ☐ | ☐ | ☐ | ☐ | ☐ |" in text
    True
    """
    form, warnings = paper_form(survey)
    lines = [f"# {_md_inline(form.title)}", ""]
    lines += [
        f"{_md_inline(form.say('respondent'))}: \\_\\_\\_\\_\\_\\_\\_\\_\\_\\_\\_\\_ "
        f"{_md_inline(form.say('date'))}: \\_\\_\\_\\_\\_\\_\\_\\_\\_\\_\\_\\_",
        "",
        f"*{_md_inline(form.say('intro'))}*",
        "",
    ]
    several = any(s.instrument_title for s in form.sections[1:])
    for section in form.sections:
        if section.instrument_title:
            lines += [f"## {_md_inline(section.instrument_title)}", ""]
        level = "###" if several else "##"
        if section.title:
            lines += [f"{level} {_md_inline(section.title)}", ""]
        if section.preamble:
            lines += [_md_paragraph(section.preamble), ""]
        for block in section.blocks:
            if block.note is not None:
                lines += [_md_paragraph(block.note), ""]
                continue
            lines += _md_grid(form, block) if block.is_grid else _md_question(form, block.questions[0])
    lines += ["---", ""]
    if form.stamp_line:
        lines += [f"*{_md_inline(form.stamp_line)}*", ""]
    lines += [f"*{_md_inline(form.footer)}*", ""]
    return "\n".join(lines), warnings


def _md_question_head(form: PaperForm, question: PaperQuestion) -> str:
    head = f"**{question.number}.** {_md_inline(question.text)}"
    if question.optional:
        head += f" {_md_inline(form.say('optional'))}"
    return head


def _md_question(form: PaperForm, question: PaperQuestion) -> list[str]:
    item = question.item
    # A backslash at the end of a line is a CommonMark hard line break.
    lines = [_md_question_head(form, question) + "\\"]
    if question.hint:
        lines.append(f"{_md_inline(question.hint)}\\")
    if question.condition:
        lines.append(f"*{_md_inline(question.condition)}*\\")
    lines.append(_md_inline(answer_hint(form, item)))
    lines.append("")
    if item.type in ("single", "multiple", "likert"):
        lines += [
            f"- {TICK_BOX} {_md_inline(option.label)} ({_md_inline(option.code)})"
            for option in options_of(item, form.language)
        ]
    elif item.type == "text":
        lines += ["\\_" * 60 + "\\", "\\_" * 60]
    elif item.type == "date":
        lines.append("\\_\\_\\_\\_ - \\_\\_ - \\_\\_")
    else:
        lines.append("\\_" * 12)
    lines.append("")
    return lines


def _md_grid(form: PaperForm, block: PaperBlock) -> list[str]:
    assert block.scale_options is not None
    header = [_md_cell(form.say("statement"))] + [
        _md_cell(f"{option.label} ({option.code})") for option in block.scale_options
    ]
    lines = [f"*{_md_inline(form.say('tick_each'))}*", ""]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" + ":---:|" * len(block.scale_options))
    for question in block.questions:
        cell = _md_question_head(form, question)
        if question.hint:
            cell += f" ({_md_inline(question.hint)})"
        if question.condition:
            cell += f" *{_md_inline(question.condition)}*"
        boxes = [TICK_BOX] * len(block.scale_options)
        lines.append("| " + " | ".join([_md_cell(cell, escaped=True), *boxes]) + " |")
    lines.append("")
    return lines


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~#&])")


def _md_inline(text: str) -> str:
    """Text as literal Markdown on one line: markup characters escaped, line breaks as spaces."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _md_cell(text: str, *, escaped: bool = False) -> str:
    return text if escaped else _md_inline(text)


def _md_paragraph(text: str) -> str:
    """A preamble: its line breaks kept (as hard breaks), a list-like start escaped."""
    lines = [_md_inline(line) for line in text.splitlines() if line.strip()]
    lines = [re.sub(r"^(\d+)([.)])", r"\1\\\2", line) for line in lines]
    lines = [re.sub(r"^([-+=])", r"\\\1", line) for line in lines]
    return "\\\n".join(lines)


def write_markdown(survey: Survey, out: Path, *, overwrite: bool = False) -> ExportResult:
    """Write the paper questionnaire as Markdown.

    Parameters
    ----------
    survey : Survey
        Written in ``survey.language``.
    out : pathlib.Path
        The ``.md`` file (parent folders are created).
    overwrite : bool
        Replace an existing file (otherwise it is an error); written atomically.

    Returns
    -------
    ExportResult

    Examples
    --------
    >>> import tempfile, pathlib, sdt_survey
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "bpn-es.md"
    >>> result = write_markdown(sdt_survey.build_survey("bpn-residency", language="es"), out)
    >>> "Nada cierto (1)" in out.read_text(encoding="utf-8")
    True
    """
    text, warnings = render_markdown(survey)
    out = write_text(out, text, overwrite=overwrite)
    return ExportResult("markdown", [out], survey.id, warnings=warnings, notes=_paper_notes())


def _paper_notes() -> list[str]:
    return [
        "type the answers in with one column per item id and the codes printed beside each label; "
        "the file then reads into sdt-survey score like any other export",
    ]


# --------------------------------------------------------------------------- PDF

#: Page sizes fpdf2 knows; US Letter is the default for programs in the United States.
PAGE_SIZES = ("letter", "a4", "legal", "a5")


def unicode_font_files() -> dict[str, Path]:
    """DejaVu Sans (regular, bold, oblique) from matplotlib's bundled fonts.

    The PDF needs a Unicode TrueType font for accents and ``☐``; fpdf2 has
    none of its own, and matplotlib ships DejaVu Sans inside its wheel, so no
    system font is needed.

    Raises
    ------
    SdtSurveyError
        When matplotlib (or its fonts) is not installed.

    Examples
    --------
    >>> sorted(unicode_font_files())
    ['B', 'I', 'regular']
    """
    spec = importlib.util.find_spec("matplotlib")
    # find_spec locates the package without importing it (importing matplotlib is slow).
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        fonts = Path(folder) / "mpl-data" / "fonts" / "ttf"
        files = {
            "regular": fonts / "DejaVuSans.ttf",
            "B": fonts / "DejaVuSans-Bold.ttf",
            "I": fonts / "DejaVuSans-Oblique.ttf",
        }
        if all(path.is_file() for path in files.values()):
            return files
    raise SdtSurveyError(
        "the PDF needs the DejaVu Sans font that ships with matplotlib; install it with "
        "'python -m pip install matplotlib'"
    )


def write_pdf(
    survey: Survey, out: Path, *, page_size: str = "letter", overwrite: bool = False
) -> ExportResult:
    """Write the paper questionnaire as a PDF.

    Parameters
    ----------
    survey : Survey
        Written in ``survey.language``.
    out : pathlib.Path
        The ``.pdf`` file (parent folders are created).
    page_size : {"letter", "a4", "legal", "a5"}
    overwrite : bool
        Replace an existing file (otherwise it is an error); written atomically.

    Returns
    -------
    ExportResult

    Raises
    ------
    SdtSurveyError
        For an unknown page size, or when the font cannot be found.

    Examples
    --------
    >>> import tempfile, pathlib, sdt_survey
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "clinic.pdf"
    >>> result = write_pdf(sdt_survey.build_survey("continuity-exposure"), out, page_size="a4")
    >>> out.read_bytes()[:5]
    b'%PDF-'
    """
    if page_size.lower() not in PAGE_SIZES:
        raise SdtSurveyError(f"unknown page size {page_size!r}; one of {', '.join(PAGE_SIZES)}")
    form, warnings = paper_form(survey)
    document = _make_pdf_class()(form, page_size.lower())
    document.render()
    out = Path(out)
    with atomic_output(out, overwrite=overwrite) as temp:
        document.output(str(temp))
    return ExportResult("pdf", [out], survey.id, warnings=warnings, notes=_paper_notes())


@functools.cache
def _make_pdf_class() -> type:
    """The fpdf2 document class, built on first use: the Markdown target does not need fpdf2."""
    from fpdf import FPDF
    from fpdf.enums import MethodReturnValue, XPos, YPos
    from fpdf.fonts import FontFace

    class PaperPdf(FPDF):
        FONT = "DejaVu"
        INK = (27, 31, 36)
        MUTED = (90, 98, 110)

        def __init__(self, form: PaperForm, page_size: str):
            super().__init__(format=page_size, unit="mm")
            self.form = form
            for style, path in unicode_font_files().items():
                self.add_font(self.FONT, "" if style == "regular" else style, str(path))
            self.set_margins(18, 16, 18)
            self.set_auto_page_break(True, margin=20)
            self.set_title(form.title)
            self.set_subject(f"sdt-survey paper form: {form.provenance}")
            self.set_keywords(f"{form.provenance} {form.stamp}".strip())
            self.set_creator(f"sdt-survey {_package_version()}")
            self.set_lang(form.language)
            self.alias_nb_pages("{nb}")

        # -- page furniture -------------------------------------------------
        def footer(self) -> None:
            self.set_y(-14)
            self.set_font(self.FONT, "", 7.5)
            self.set_text_color(*self.MUTED)
            page = self.form.say("page", page=self.page_no(), pages="{nb}")
            width = self.epw - self.get_string_width(page) - 6
            footer = f"{self.form.footer} {self.form.stamp_line}".strip()
            self.multi_cell(width, 3.4, footer, new_x=XPos.RIGHT, new_y=YPos.TOP)
            self.set_x(self.l_margin + self.epw - self.get_string_width(page) - 1)
            self.cell(0, 3.4, page, align="R")
            self.set_text_color(*self.INK)

        def font(self, size: float, style: str = "") -> None:
            self.set_font(self.FONT, style, size)

        def paragraph(self, text: str, size: float = 10.5, style: str = "", gap: float = 1.5) -> None:
            self.font(size, style)
            self.multi_cell(0, size * 0.48, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.ln(gap)

        # -- the questionnaire ------------------------------------------------
        def render(self) -> None:
            form = self.form
            self.add_page()
            self.set_text_color(*self.INK)
            self.paragraph(form.title, 16, "B", 3)
            self.font(10)
            line = "_" * 18
            self.cell(0, 6, f"{form.say('respondent')}: {line}     {form.say('date')}: {line}")
            self.ln(9)
            self.paragraph(form.say("intro"), 10, "I", 3)
            several = any(s.instrument_title for s in form.sections[1:])
            for section in form.sections:
                if section.instrument_title:
                    self.heading(section.instrument_title, 14)
                if section.title:
                    self.heading(section.title, 12.5 if several else 13.5)
                if section.preamble:
                    self.paragraph(section.preamble, 10.5, "", 2.5)
                for block in section.blocks:
                    if block.note is not None:
                        self.paragraph(block.note, 10.5, "", 2.5)
                    elif block.is_grid:
                        self.grid(block)
                    else:
                        self.question(block.questions[0])

        def heading(self, text: str, size: float) -> None:
            # Keep a heading with at least some of what follows it.
            if self.will_page_break(size * 0.5 + 24):
                self.add_page()
            self.ln(2)
            self.paragraph(text, size, "B", 1.5)

        def question_text(self, question: PaperQuestion) -> str:
            text = f"{question.number}. {question.text}"
            if question.optional:
                text += f" {self.form.say('optional')}"
            return text

        def text_height(self, text: str, size: float, style: str = "", width: float = 0) -> float:
            """Height ``text`` takes when written by :meth:`paragraph` (a dry run)."""
            self.font(size, style)
            return self.multi_cell(
                width, size * 0.48, text, dry_run=True, output=MethodReturnValue.HEIGHT, padding=0
            )

        def question(self, question: PaperQuestion) -> None:
            item = question.item
            hint = answer_hint(self.form, item)
            options = options_of(item, self.form.language) if item.type in ("single", "multiple") else []
            if item.type == "likert":  # a likert item outside a grid (alone on its scale)
                options = options_of(item, self.form.language)
            # Keep a question with its answer space: start a new page unless all of it fits.
            needed = 1.5 + self.text_height(self.question_text(question), 10.5, "B") + 0.8
            if question.hint:
                needed += self.text_height(question.hint, 9.5) + 0.5
            if question.condition:
                needed += self.text_height(question.condition, 9.5, "I") + 0.5
            needed += self.text_height(hint, 9) + 1.2
            needed += sum(self.tick_line_height(option) for option in options)
            needed += {"text": 24, "single": 0, "multiple": 0, "likert": 0}.get(item.type, 10) + 1.5
            # A question taller than a page cannot be kept whole: it starts where it is (unless the
            # page is nearly full) and flows on to the next pages.
            if self.will_page_break(min(needed, 40) if needed > self.eph else needed):
                self.add_page()
            self.ln(1.5)
            self.paragraph(self.question_text(question), 10.5, "B", 0.8)
            if question.hint:
                self.paragraph(question.hint, 9.5, "", 0.5)
            if question.condition:
                self.paragraph(question.condition, 9.5, "I", 0.5)
            self.set_text_color(*self.MUTED)
            self.paragraph(hint, 9, "", 1.2)
            self.set_text_color(*self.INK)
            for option in options:
                self.tick_line(option)
            if item.type == "text":
                self.rect(self.l_margin, self.get_y(), self.epw, 22)
                self.ln(24)
            elif item.type in ("integer", "number", "slider", "date"):
                width = 40 if item.type == "date" else 30
                self.rect(self.l_margin, self.get_y(), width, 8)
                if item.type == "date":
                    self.font(9)
                    self.set_text_color(*self.MUTED)
                    self.text(self.l_margin + width + 3, self.get_y() + 5.5, "YYYY-MM-DD")
                    self.set_text_color(*self.INK)
                self.ln(10)
            self.ln(1.5)

        TICK_INDENT = 4.0
        TICK_WIDTH = 7.0
        CODE_WIDTH = 16.0

        def label_width(self) -> float:
            return self.epw - self.TICK_INDENT - self.TICK_WIDTH - self.CODE_WIDTH

        def tick_line_height(self, option: PaperOption) -> float:
            return max(6.4, self.text_height(option.label, 10.5, width=self.label_width()) + 1.2)

        def tick_line(self, option: PaperOption) -> None:
            """``☐ label (code)``; a long label wraps beside its box."""
            height = self.tick_line_height(option)
            if self.will_page_break(min(height, 12)):
                self.add_page()
            top, page = self.get_y(), self.page
            self.set_x(self.l_margin + self.TICK_INDENT)
            self.font(13)
            self.cell(self.TICK_WIDTH, 6, TICK_BOX)
            self.font(10.5)
            self.set_y(top + 0.6)
            self.set_x(self.l_margin + self.TICK_INDENT + self.TICK_WIDTH)
            self.multi_cell(self.label_width(), 5.04, option.label, new_x=XPos.RIGHT, new_y=YPos.TOP)
            self.font(8)
            self.set_text_color(*self.MUTED)
            self.cell(self.CODE_WIDTH, 6, f"({option.code})")
            self.set_text_color(*self.INK)
            # A label longer than the page flowed on to the next one: go on below its end.
            self.set_y(top + height if self.page == page else self.get_y() + 6)

        def grid(self, block: PaperBlock) -> None:
            assert block.scale_options is not None
            n = len(block.scale_options)
            padding = 1.2
            # Scale labels wrap between words, never inside one: each column is at least as wide as
            # the longest word of the labels. The statements keep at least 40% of the width (34% on
            # long scales); where the labels' words are too long for that, their font shrinks.
            share = 0.60 if n <= 5 else 0.66
            heading_size = 7.5
            words = [word for option in block.scale_options for word in option.label.split()]
            while True:
                self.font(heading_size, "B")
                longest = max(self.get_string_width(word) for word in words)
                box_width = max(longest + 2 * padding + 0.8, self.epw * share / n)
                if n * box_width <= self.epw * share or heading_size <= 5.5:
                    break
                heading_size -= 0.25
            # A word wider than its whole share of the page (a 300-character label with no space)
            # cannot keep the columns from overflowing: it is broken between characters instead.
            box_width = min(box_width, self.epw * share / n)
            question_width = self.epw - n * box_width
            # A table row cannot be split across pages: a statement (or a heading of scale labels)
            # too tall for half a page is printed as a question of its own, with tick lines.
            room = (self.eph - 30) / 2
            if (
                max(self.cell_height(o.label, heading_size, box_width, "B") for o in block.scale_options)
                > room
            ):
                for question in block.questions:
                    self.question(question)
                return
            run: list[PaperQuestion] = []
            for question in block.questions:
                if self.cell_height(self.grid_text(question), 9, question_width) > room:
                    if run:
                        self.grid_table(block, run, box_width, question_width, heading_size)
                        run = []
                    self.question(question)
                else:
                    run.append(question)
            if run:
                self.grid_table(block, run, box_width, question_width, heading_size)

        def grid_text(self, question: PaperQuestion) -> str:
            text = self.question_text(question)
            if question.hint:
                text += f"\n{question.hint}"
            return text + f"\n{question.condition}" if question.condition else text

        def cell_height(self, text: str, size: float, width: float, style: str = "") -> float:
            """Height of ``text`` in a table cell ``width`` wide (line height 4.4, padding 1.6)."""
            self.font(size, style)
            lines = self.multi_cell(
                max(width - 2.4, 1.0), 4.4, text, dry_run=True, output=MethodReturnValue.LINES, padding=0
            )
            return 4.4 * len(lines) + 3.2

        def grid_table(
            self,
            block: PaperBlock,
            questions: list[PaperQuestion],
            box_width: float,
            question_width: float,
            heading_size: float,
        ) -> None:
            n = len(block.scale_options)
            padding = 1.2
            if self.will_page_break(40):
                self.add_page()
            self.ln(1)
            self.paragraph(self.form.say("tick_each"), 9.5, "I", 1.5)
            self.font(9)
            headings = FontFace(emphasis="BOLD", size_pt=heading_size, fill_color=(236, 240, 245))
            box_style = FontFace(family=self.FONT, size_pt=14)
            code_style = FontFace(size_pt=7, color=self.MUTED)
            with self.table(
                col_widths=(question_width, *([box_width] * n)),
                width=self.epw,
                text_align=("LEFT", *(["CENTER"] * n)),
                headings_style=headings,
                line_height=4.4,
                padding=(1.6, padding),
                borders_layout="HORIZONTAL_LINES",
                num_heading_rows=2,  # the labels and their codes, repeated on each new page
                repeat_headings=1,
            ) as table:
                head = table.row()
                head.cell(self.form.say("statement"))
                for option in block.scale_options:
                    head.cell(option.label)
                codes = table.row()
                codes.cell("", style=code_style)
                for option in block.scale_options:
                    codes.cell(option.code, style=code_style)
                for question in questions:
                    row = table.row()
                    row.cell(self.grid_text(question))
                    for _ in block.scale_options:
                        row.cell(TICK_BOX, style=box_style)
            self.ln(3)

    return PaperPdf


# --------------------------------------------------------------------------- show_if in words


class _ConditionWriter:
    """Writes a parsed ``show_if`` as a sentence: "question 1 is “Yes” and question 2 is more than 0"."""

    def __init__(self, words: dict[str, str], numbers: dict[str, int], items: dict[str, Item], language: str):
        self.words = words
        self.numbers = numbers
        self.items = items
        self.language = language

    def __call__(self, expr: Expression, negated: bool = False) -> str:
        if isinstance(expr, Not):
            return self(expr.operand, not negated)
        if isinstance(expr, BoolOp):
            # De Morgan: "not (a or b)" is "not a and not b", which reads without brackets.
            op = expr.op if not negated else ("and" if expr.op == "or" else "or")
            parts = []
            for operand in expr.operands:
                text = self(operand, negated)
                inner = operand.operand if isinstance(operand, Not) else operand
                if isinstance(inner, BoolOp) and len(expr.operands) > 1:
                    text = f"({text})"
                parts.append(text)
            return self.words[op].join(parts)
        if isinstance(expr, Membership):
            item = self.items[expr.item.id]
            is_negated = expr.negated != negated
            values = [self.value(item, literal) for literal in expr.values]
            if item.type == "multiple":
                key = "excludes" if is_negated else "includes"
                joiner = self.words["list_nor"] if is_negated else self.words["list_or"]
                return self.words[key].format(q=self.name(expr.item), v=joiner.join(values))
            if is_negated:
                joined = self.words["list_nor"].join(values)
                if len(values) == 1:
                    return self.words["!="].format(q=self.name(expr.item), v=values[0])
                return self.words["not in"].format(q=self.name(expr.item), v=joined)
            return self.words["in"].format(q=self.name(expr.item), v=self.words["list_or"].join(values))
        if isinstance(expr, Comparison):
            left, right, op = expr.left, expr.right, expr.op
            if isinstance(left, Literal) and isinstance(right, Name):
                left, right, op = right, left, _FLIPPED[op]
            if negated:
                op = _NEGATED[op]
            assert isinstance(left, Name)
            item = self.items[left.id]
            value = self.name(right) if isinstance(right, Name) else self.value(item, right)
            if item.type == "multiple" and op in ("==", "!="):
                key = "includes" if op == "==" else "excludes"
                return self.words[key].format(q=self.name(left), v=value)
            return self.words[op].format(q=self.name(left), v=value)
        raise TypeError(f"not a show_if expression: {expr!r}")

    def name(self, name: Name) -> str:
        return self.words["question"].format(number=self.numbers[name.id])

    def value(self, item: Item, literal: Literal) -> str:
        """A compared value as the respondent sees it: the label of a code, else the number or text."""
        labels = {str(value): label for value, label in _coded_labels(item, self.language)}
        key = code_text(literal.value) if isinstance(literal.value, (int, float)) else str(literal.value)
        if key in labels:
            return self.words["quote"].format(labels[key])
        if isinstance(literal.value, str):
            return self.words["quote"].format(literal.value)
        return code_text(literal.value)


def _coded_labels(item: Item, language: str) -> list[tuple[object, str]]:
    if item.scale is not None:
        return [
            (v, label.get(language)) for v, label in zip(item.scale.values, item.scale.labels, strict=True)
        ]
    return [(choice.value, choice.label.get(language)) for choice in item.choices]


# --------------------------------------------------------------------------- helpers


def _runs(items: Sequence[Item | Note]) -> list[tuple[Scale | None, list[Item | Note]]]:
    """Consecutive likert items on one scale as one run (a grid); any other item, or note, on its own."""
    runs: list[tuple[Scale | None, list[Item | Note]]] = []
    for item in items:
        if isinstance(item, Note):
            runs.append((None, [item]))
        elif item.scale is not None and runs and runs[-1][0] is item.scale:
            runs[-1][1].append(item)
        else:
            runs.append((item.scale, [item]))
    return runs


def _text_or_none(survey: Survey, text) -> str | None:
    return None if text is None else survey.text(text)


def _package_version() -> str:

    return __version__


__all__ = [
    "PAGE_SIZES",
    "PAPER_STRINGS",
    "TICK_BOX",
    "PaperBlock",
    "PaperForm",
    "PaperOption",
    "PaperQuestion",
    "PaperSection",
    "answer_hint",
    "options_of",
    "paper_form",
    "render_markdown",
    "unicode_font_files",
    "write_markdown",
    "write_pdf",
]
