"""The ``html`` target: one self-contained web form.

The form is a single ``.html`` file with its CSS, script and every text
inlined: it makes no network request, so it can be opened from disk, sent by
e-mail or hosted on any static server. It offers

* Likert items that share a scale as a grid of radio groups (each item a
  ``fieldset`` with a ``legend``; every input has a ``label``; arrow keys move
  within a group, as in any radio group),
* single and multiple choice as radio and checkbox groups, integer and number
  inputs with ``min``/``max``/``step``, text and date inputs,
* live ``show_if`` branching, translated from the parsed expression to
  JavaScript with the missing-answer rules of :mod:`sdt_survey.instrument.expressions`
  (hidden items are cleared and never required),
* required-answer checks on submit, with the message next to each item
  (``aria-invalid``, ``aria-describedby``) and focus on the first,
* a language switch when the survey has several languages (all texts are
  embedded and replaced in place), and a progress indicator,
* on submit, a downloaded JSON file (or CSV, the respondent's choice) in the
  reader's format, or with ``post_url`` a ``fetch`` POST of the same JSON.

The saved response is exactly what :func:`sdt_survey.score` reads::

    {"format": "sdt-survey-response", "format_version": 1,
     "instruments": [{"id": "bpn-residency", "version": "1.0.0", "hash": "e41c3409..."}],
     "submitted": "2026-03-04T10:21:40Z", "language": "en",
     "respondent": "R001", "wave": 1,
     "answers": {"as1": 4, "sources": [1, 2], "comment": null}}

``respondent`` and ``wave`` come from the URL (``form.html?respondent=R001&wave=1``)
when present. Every item of the survey is a key of ``answers``: ``null`` when
unanswered or hidden, so that the reader finds a column for every item.

Examples
--------
>>> import tempfile, pathlib, sdt_survey
>>> out = pathlib.Path(tempfile.mkdtemp()) / "form.html"
>>> result = sdt_survey.export_survey("bpn-residency", "html", out)
>>> page = out.read_text(encoding="utf-8")
>>> '<meta name="sdt-survey-instruments" content="bpn-residency 1.0.0">' in page
True
>>> from sdt_survey.instrument.expressions import parse_expression
>>> show_if_to_js(parse_expression("has_usual_preceptor == 1 and clinic_halfdays_4wk > 0"))
'(eq(a("has_usual_preceptor"), 1) && gt(a("clinic_halfdays_4wk"), 0))'
"""

from __future__ import annotations

import html
import json
import re
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from .._version import __version__
from ..errors import SdtSurveyError
from ..files import write_text
from ..instrument import Item, Scale, code_text
from ..instrument.expressions import BoolOp, Comparison, Expression, Literal, Membership, Name, Not
from .html_assets import SCRIPT, STYLE, UI_STRINGS
from .result import ExportResult
from .survey import Survey, SurveySection
from .table import ResponseTable

#: The ``format`` and ``format_version`` of a saved response (what the reader expects).
RESPONSE_FORMAT = "sdt-survey-response"
RESPONSE_FORMAT_VERSION = 1

#: Names of languages in their own language, for the language switch; other tags show as written.
LANGUAGE_NAMES = {
    "en": "English",
    "es": "Español",
    "fr": "Français",
    "pt": "Português",
    "de": "Deutsch",
    "it": "Italiano",
    "nl": "Nederlands",
    "ca": "Català",
}


#: ``show_if`` comparison operators and the script's function for each.
_JS_COMPARISONS = {"==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}

# Characters that must not appear literally inside an inline <script>: "</script>" or
# "<!--" would end or confuse it, and U+2028/U+2029 end lines in older JavaScript.
_SCRIPT_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


# --------------------------------------------------------------------------- public API


def write(survey: Survey, out: Path, *, post_url: str | None = None, overwrite: bool = False) -> ExportResult:
    """Write the survey as one self-contained HTML form.

    Parameters
    ----------
    survey : Survey
        From :func:`sdt_survey.build_survey`. The form opens in
        ``survey.language`` and offers every language all texts have.
    out : pathlib.Path
        The ``.html`` file to write (parent folders are created).
    post_url : str, optional
        Send each response with an HTTP POST of its JSON to this URL (an
        ``http(s)://`` address, or a path such as ``/responses`` on the server
        that hosts the form) instead of saving a file. The page allows no
        other connection.
    overwrite : bool
        Replace an existing file (otherwise it is an error); written atomically.

    Returns
    -------
    ExportResult
        ``warnings`` names languages the form's own words fall back to
        English for, and a ``post_url`` that is not encrypted.

    Raises
    ------
    SdtSurveyError
        For a ``post_url`` that is neither an http(s) URL nor a path.

    Examples
    --------
    >>> import tempfile, pathlib, sdt_survey
    >>> survey = sdt_survey.build_survey(["bpn-residency"], language="es")
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "bpn.html"
    >>> result = write(survey, out)
    >>> '<html lang="es">' in out.read_text(encoding="utf-8"), result.paths == [out]
    (True, True)
    """
    page, warnings = render_html(survey, post_url=post_url)
    out = write_text(out, page, overwrite=overwrite)
    notes = [
        "open the file in any current browser, from disk or from a web server; it loads nothing from "
        "the network",
        "add ?respondent=R001&wave=1 to the address to record a respondent code and wave with the answers",
    ]
    if post_url:
        notes.append(
            f"each response is POSTed as JSON to {post_url}; a server on another origin than the form "
            "(or a form opened from disk) must answer the CORS preflight (OPTIONS) and send "
            "Access-Control-Allow-Origin"
        )
    else:
        notes.append(
            "each respondent saves a JSON (or CSV) file; sdt-survey score reads one such file, a JSON "
            "list of such records, or a .jsonl file of one record per line"
        )
    return ExportResult("html", [out], survey.id, warnings=warnings, notes=notes)


#: ``export_survey(..., "html", ...)`` looks for ``write_html`` first.
write_html = write


def render_html(survey: Survey, *, post_url: str | None = None) -> tuple[str, list[str]]:
    """The form's HTML text, and warnings about it.

    Parameters
    ----------
    survey : Survey
    post_url : str, optional
        See :func:`write`.

    Returns
    -------
    tuple of (str, list of str)

    Examples
    --------
    >>> import sdt_survey
    >>> page, warnings = render_html(sdt_survey.build_survey("continuity-exposure"))
    >>> page.count('<fieldset class="sdt-item sdt-likert"'), warnings
    (4, [])
    """
    warnings: list[str] = []
    connect_source = _check_post_url(post_url, warnings) if post_url else "'none'"
    languages = form_languages(survey, warnings)
    for language in languages:
        if _ui_language(language) not in UI_STRINGS:
            warnings.append(
                f"the form's own words (buttons, hints, messages) have no {language!r} version; "
                "they are shown in English"
            )
    texts = {language: _collect_texts(survey, language) for language in languages}
    ui = {language: UI_STRINGS.get(_ui_language(language), UI_STRINGS["en"]) for language in languages}
    data = {
        "survey": survey.id,
        "instruments": [
            {"id": inst.id, "version": inst.version, "hash": inst.content_hash()}
            for inst in survey.instruments
        ],
        "language": survey.language,
        "languages": languages,
        "texts": texts,
        "ui": ui,
        "version": _package_version(),
        "format": RESPONSE_FORMAT,
        "formatVersion": RESPONSE_FORMAT_VERSION,
        "postUrl": post_url,
        "fileStem": re.sub(r"[^A-Za-z0-9_-]+", "_", survey.id),
        "items": [_item_data(item) for item in survey.items],
    }
    page = _Page(survey, survey.language, ui[survey.language])
    body = page.body(languages, post_url is not None)
    rules = ",\n".join(
        f"    {_js_value(item.id)}: (a) => {show_if_to_js(item.show_if)}"
        for item in survey.items
        if item.show_if is not None
    )
    script = SCRIPT.replace("/*SHOW_IF*/", rules)
    title = html.escape(page.survey_title())
    provenance = html.escape(survey.provenance)
    csp = (
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; "
        f"connect-src {connect_source}; form-action 'none'; base-uri 'none'"
    )
    head = [
        "<!DOCTYPE html>",
        f'<html lang="{html.escape(survey.language)}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta http-equiv="Content-Security-Policy" content="{html.escape(csp)}">',
        f'<meta name="sdt-survey-instruments" content="{provenance}">',
        f'<meta name="sdt-survey-stamp" content="{html.escape(survey.stamp)}">',
        f'<meta name="generator" content="sdt-survey {html.escape(_package_version())}">',
        # An empty icon keeps the browser from asking a server for /favicon.ico.
        '<link rel="icon" href="data:,">',
        f"<title>{title}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
    ]
    tail = [
        f'<script type="application/json" id="sdt-survey-data">{_script_safe_json(data)}</script>',
        f"<script>{script}</script>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join([*head, *body, *tail]), warnings


def show_if_to_js(expr: Expression, answer: str = "a") -> str:
    """Translate a parsed ``show_if`` into a JavaScript expression.

    The result calls the form script's helpers ``eq``, ``ne``, ``lt``,
    ``le``, ``gt``, ``ge`` and ``isIn`` on ``answer(item_id)``, which give
    the missing-answer rules of :func:`sdt_survey.instrument.expressions.evaluate`: a
    comparison with an unanswered item is false, except ``!=`` and
    ``not in``, which are true; codes compare as numbers when both sides are
    numbers. For a multiple-choice answer (a list), ``==`` and ``in`` mean
    "among the selected options". Literals are written as JSON, escaped for
    an inline script.

    Parameters
    ----------
    expr : Expression
        From :func:`sdt_survey.instrument.expressions.parse_expression`.
    answer : str
        Name of the function that returns an item's current answer.

    Returns
    -------
    str

    Examples
    --------
    >>> from sdt_survey.instrument.expressions import parse_expression
    >>> show_if_to_js(parse_expression("pgy in [2, 3] or not (site == 'north')"))
    '(isIn(a("pgy"), [2, 3]) || !eq(a("site"), "north"))'
    >>> show_if_to_js(parse_expression("0 < n and name != '</script>'"))
    '(lt(0, a("n")) && ne(a("name"), "\\\\u003c/script\\\\u003e"))'
    """
    if isinstance(expr, BoolOp):
        joiner = " && " if expr.op == "and" else " || "
        return "(" + joiner.join(show_if_to_js(operand, answer) for operand in expr.operands) + ")"
    if isinstance(expr, Not):
        return "!" + show_if_to_js(expr.operand, answer)
    if isinstance(expr, Membership):
        listed = ", ".join(_js_value(literal.value) for literal in expr.values)
        call = f"isIn({_js_operand(expr.item, answer)}, [{listed}])"
        return "!" + call if expr.negated else call
    if isinstance(expr, Comparison):
        function = _JS_COMPARISONS[expr.op]
        return f"{function}({_js_operand(expr.left, answer)}, {_js_operand(expr.right, answer)})"
    raise TypeError(f"not a show_if expression: {expr!r}")


def form_languages(survey: Survey, warnings: list[str] | None = None) -> list[str]:
    """Languages the form offers: the survey's, less any an item's supplied wording lacks.

    The survey's own language comes first.

    Examples
    --------
    >>> import sdt_survey
    >>> form_languages(sdt_survey.build_survey("bpn-residency", language="es"))
    ['es', 'en']
    """
    ordered = [survey.language, *(lang for lang in survey.languages if lang != survey.language)]
    usable = []
    for language in ordered:
        lacking = [item.id for item in survey.items if not _has_text(survey, item, language)]
        if not lacking:
            usable.append(language)
        elif warnings is not None and language != survey.language:
            warnings.append(
                f"no {language!r} wording for {', '.join(lacking[:5])}"
                f"{' ...' if len(lacking) > 5 else ''}; the form is not offered in {language!r}"
            )
    if survey.language not in usable:
        raise SdtSurveyError(f"some items have no {survey.language!r} wording; supply it with texts=FILE")
    return usable


# --------------------------------------------------------------------------- helpers


def _has_text(survey: Survey, item: Item, language: str) -> bool:
    try:
        survey.item_text(item, language)
    except SdtSurveyError:
        return False
    return True


def _ui_language(language: str) -> str:
    """``fr-CA`` uses the ``fr`` words."""
    return language.split("-", 1)[0].lower()


def _package_version() -> str:

    return __version__


def _check_post_url(post_url: str, warnings: list[str]) -> str:
    """Refuse an unusable ``post_url``; return the Content-Security-Policy source that allows it."""
    if re.search(r"[\s;,'\"<>\\`]", post_url):
        raise SdtSurveyError(f"post_url {post_url!r} contains a space, quote or separator; encode it")
    parts = urllib.parse.urlsplit(post_url)
    if parts.scheme in ("http", "https") and parts.netloc:
        if parts.scheme == "http" and parts.hostname not in ("localhost", "127.0.0.1", "::1"):
            warnings.append(f"post_url {post_url} is not https: answers would travel unencrypted")
        return f"{parts.scheme}://{parts.netloc}"
    if not parts.scheme and not parts.netloc and post_url.startswith("/"):
        return "'self'"
    raise SdtSurveyError(
        f"post_url must be an http:// or https:// address, or a path on the form's own server "
        f"such as /responses; got {post_url!r}"
    )


def _script_safe_json(value: Any) -> str:
    """JSON that can sit inside ``<script>`` (no ``</script>``, ``<!--`` or line separators)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return re.sub("[<>&\u2028\u2029]", lambda m: _SCRIPT_UNSAFE[m.group()], text)


def _js_value(value: Any) -> str:
    return _script_safe_json(value)


def _js_operand(operand: Name | Literal, answer: str) -> str:
    if isinstance(operand, Name):
        return f"{answer}({_js_value(operand.id)})"
    return _js_value(operand.value)


def _item_data(item: Item) -> dict[str, Any]:
    """What the script needs about an item: its type, answer codes, bounds, whether required."""
    if item.scale is not None:
        values: list[Any] = list(item.scale.choice_values)
    else:
        values = [choice.value for choice in item.choices]
    return {
        "id": item.id,
        # A slider is asked as a number from min to max (a range control has no "unanswered").
        "type": "number" if item.type == "slider" else item.type,
        "required": item.required,
        "values": values,
        "min": item.min,
        "max": item.max,
    }


def _scale_key(survey: Survey, item: Item, index: int) -> str:
    # Scale ids are only unique within an instrument (two instruments may both define agree5).
    assert item.scale is not None
    return f"scale.{survey.instrument_of(item.id).id}.{item.scale.id}.{index}"


def _collect_texts(survey: Survey, language: str) -> dict[str, str]:
    """Every survey text in ``language``, by the key its elements carry in ``data-t``."""
    texts = {"survey.title": " / ".join(survey.text(i.title, language, i.id) for i in survey.instruments)}
    for inst in survey.instruments:
        texts[f"instrument.{inst.id}.title"] = survey.text(inst.title, language, inst.id)
    for section in survey.sections:
        name = survey.section_name(section)
        if section.section.title is not None:
            texts[f"section.{name}.title"] = survey.text(section.section.title, language)
        if section.section.preamble is not None:
            texts[f"section.{name}.preamble"] = survey.text(section.section.preamble, language)
        for note in section.section.notes:
            texts[f"note.{note.id}"] = survey.text(note.text, language)
    for item in survey.items:
        texts[f"item.{item.id}"] = survey.item_text(item, language)
        if item.hint is not None:
            texts[f"hint.{item.id}"] = survey.text(item.hint, language)
        for index, anchor in enumerate(item.anchors):
            texts[f"anchor.{item.id}.{index}"] = survey.text(anchor, language)
        for index, choice in enumerate(item.choices):
            texts[f"choice.{item.id}.{index}"] = choice.label.get(language)
        if item.scale is not None:
            for index, label in enumerate(item.scale.choice_labels):
                texts[_scale_key(survey, item, index)] = label.get(language)
    return texts


def _likert_runs(items: Sequence[Item]) -> Iterator[tuple[Scale | None, list[Item]]]:
    """Consecutive likert items on one scale, as one run; any other item as a run of its own."""
    run: list[Item] = []
    for item in items:
        if run and (item.scale is None or item.scale is not run[0].scale):
            yield run[0].scale, run
            run = []
        if item.scale is None:
            yield None, [item]
        else:
            run.append(item)
    if run:
        yield run[0].scale, run


class _Page:
    """Builds the form's markup in the opening language (the script switches languages in place)."""

    def __init__(self, survey: Survey, language: str, ui: Mapping[str, str]):
        self.survey = survey
        self.language = language
        self.ui = ui

    # -- small pieces ---------------------------------------------------------
    def survey_title(self) -> str:
        return " / ".join(
            self.survey.text(inst.title, self.language, inst.id) for inst in self.survey.instruments
        )

    def text(self, key: str, value: str, tag: str = "span", attrs: str = "") -> str:
        """An element whose text the language switch replaces (``data-t``)."""
        return f'<{tag}{attrs} data-t="{html.escape(key)}">{html.escape(value)}</{tag}>'

    def words(self, key: str, tag: str = "span", attrs: str = "", **params: str) -> str:
        """An element showing one of the form's own words (``data-ui``), with ``{params}`` filled in."""
        value = self.ui[key]
        data = ""
        for name, param in params.items():
            value = value.replace("{" + name + "}", param)
            data += f' data-{name}="{html.escape(param)}"'
        return f'<{tag}{attrs} data-ui="{html.escape(key)}"{data}>{html.escape(value)}</{tag}>'

    def item_hint(self, item: Item) -> list[str]:
        """The item's hint, and a slider's anchors, under the question."""
        lines = []
        if item.hint is not None:
            hint = self.survey.text(item.hint, self.language)
            lines.append(self.text(f"hint.{item.id}", hint, "p", ' class="sdt-hint sdt-item-hint"'))
        if item.anchors:
            ends = [code_text(item.min), *([""] if len(item.anchors) == 3 else []), code_text(item.max)]
            parts = [
                (f"{html.escape(end)} = " if end else "")
                + self.text(f"anchor.{item.id}.{k}", self.survey.text(anchor, self.language))
                for k, (end, anchor) in enumerate(zip(ends, item.anchors, strict=True))
            ]
            lines.append('<p class="sdt-hint sdt-anchors">' + " … ".join(parts) + "</p>")
        return lines

    def question(self, item: Item) -> str:
        text = self.text(f"item.{item.id}", self.survey.item_text(item, self.language))
        if not item.required:
            text += " " + self.words("optional", attrs=' class="sdt-optional"')
        return text

    # -- the page -------------------------------------------------------------
    def body(self, languages: Sequence[str], posts: bool) -> list[str]:
        survey = self.survey
        lines = ["<body>", '<header class="sdt-header">']
        lines.append(self.text("survey.title", self.survey_title(), "h1", ' id="sdt-title"'))
        if len(languages) > 1:
            options = "".join(
                f'<option value="{html.escape(lang)}"{" selected" if lang == self.language else ""}>'
                f"{html.escape(LANGUAGE_NAMES.get(lang, lang))}</option>"
                for lang in languages
            )
            lines.append(
                '<p class="sdt-language">'
                + self.words("language", "label", ' for="sdt-language"')
                + f' <select id="sdt-language">{options}</select></p>'
            )
        lines.append("</header>")
        lines.append("<noscript>" + self.words("noscript", "p", ' class="sdt-alert"') + "</noscript>")
        lines.append('<main id="sdt-main">')
        lines.append('<form id="sdt-form" novalidate>')
        several = len(survey.instruments) > 1
        current = None
        for section in survey.sections:
            if several and section.instrument is not current:
                if current is not None:
                    lines.append("</div>")
                current = section.instrument
                lines.append(f'<div class="sdt-instrument" data-instrument="{html.escape(current.id)}">')
                lines.append(
                    self.text(
                        f"instrument.{current.id}.title",
                        survey.text(current.title, self.language, current.id),
                        "h2",
                    )
                )
            lines.extend(self.section(section, "h3" if several else "h2"))
        if several:
            lines.append("</div>")
        lines.extend(self.submit_area(posts))
        lines.append("</form>")
        lines.extend(self.done_panel())
        lines.append("</main>")
        lines.extend(self.progress_bar())
        lines.extend(self.footer())
        return lines

    def section(self, section: SurveySection, heading: str) -> list[str]:
        name = self.survey.section_name(section)
        anchor = f"section-{name}"
        title = section.section.title
        labelled = f' aria-labelledby="{anchor}-title"' if title is not None else ""
        lines = [f'<section class="sdt-section" id="{anchor}"{labelled}>']
        if title is not None:
            lines.append(
                self.text(
                    f"section.{name}.title",
                    self.survey.text(title, self.language),
                    heading,
                    f' id="{anchor}-title"',
                )
            )
        if section.section.preamble is not None:
            lines.append(
                self.text(
                    f"section.{name}.preamble",
                    self.survey.text(section.section.preamble, self.language),
                    "p",
                    ' class="sdt-preamble"',
                )
            )
        run: list[Item] = []
        for entry in [*section.layout(), None]:
            if isinstance(entry, Item):
                run.append(entry)
                continue
            # A note (or the section's end) closes the run of items before it.
            for scale, items in _likert_runs(run):
                lines.extend(self.likert_block(scale, items) if scale is not None else self.item(items[0]))
            run = []
            if entry is not None:
                text = self.survey.text(entry.text, self.language)
                lines.append(self.text(f"note.{entry.id}", text, "p", ' class="sdt-note"'))
        lines.append("</section>")
        return lines

    def likert_block(self, scale: Scale, items: list[Item]) -> list[str]:
        """A grid of radio groups: a visual header of the scale labels, then one fieldset per item.

        The header is hidden from assistive technology: each radio carries its own
        label (shown on narrow screens, visually hidden on wide ones).
        """
        first = items[0]
        labels = "".join(
            self.text(_scale_key(self.survey, first, i), label.get(self.language))
            for i, label in enumerate(scale.choice_labels)
        )
        lines = [
            f'<div class="sdt-likert-block" data-scale="{html.escape(scale.id)}">',
            f'<div class="sdt-likert-head" aria-hidden="true"><span class="sdt-corner"></span>{labels}</div>',
        ]
        for item in items:
            lines.extend(self.choice_group(item, "sdt-likert"))
        lines.append("</div>")
        return lines

    def choice_group(self, item: Item, kind: str) -> list[str]:
        """A fieldset of radios (likert, single) or checkboxes (multiple)."""
        multiple = item.type == "multiple"
        if item.scale is not None:
            options = [
                (value, _scale_key(self.survey, item, i), item.scale.choice_labels[i].get(self.language))
                for i, value in enumerate(item.scale.choice_values)
            ]
        else:
            options = [
                (choice.value, f"choice.{item.id}.{i}", choice.label.get(self.language))
                for i, choice in enumerate(item.choices)
            ]
        item_id = html.escape(item.id)
        described = [f"{item_id}-hint"] if multiple else []
        role = ' role="group"' if multiple else ' role="radiogroup"'
        required = ' aria-required="true"' if item.required and not multiple else ""
        describedby = f' aria-describedby="{" ".join(described)}"' if described else ""
        lines = [
            f'<fieldset class="sdt-item {kind}" id="item-{item_id}" data-item="{item_id}"'
            f"{role}{required}{describedby}>",
            f"<legend>{self.question(item)}</legend>",
            *self.item_hint(item),
        ]
        if multiple:
            lines.append(self.words("hint.multiple", "p", f' class="sdt-hint" id="{item_id}-hint"'))
        lines.append('<div class="sdt-options">')
        input_type = "checkbox" if multiple else "radio"
        for index, (value, key, label) in enumerate(options):
            option_id = f"{item_id}-{index}"
            lines.append(
                f'<label for="{option_id}"><input type="{input_type}" id="{option_id}" name="{item_id}" '
                f'value="{html.escape(str(value))}" data-index="{index}"{describedby}>'
                + self.text(key, label, attrs=' class="sdt-choice"')
                + "</label>"
            )
        lines.append("</div>")
        lines.append(f'<p class="sdt-error" id="{item_id}-error" hidden></p>')
        lines.append("</fieldset>")
        return lines

    def item(self, item: Item) -> list[str]:
        if item.type in ("single", "multiple"):
            return self.choice_group(item, f"sdt-{item.type}")
        item_id = html.escape(item.id)
        required = ' aria-required="true"' if item.required else ""
        hint = ""
        attributes = ""
        if item.type in ("integer", "number", "slider"):
            kind = "number" if item.type == "slider" else item.type
            bounds = {}
            suffix = ""
            if item.min is not None:
                bounds["min"] = code_text(item.min)
            if item.max is not None:
                bounds["max"] = code_text(item.max)
            if bounds:
                suffix = "_range" if len(bounds) == 2 else f"_{next(iter(bounds))}"
            hint = self.words(f"hint.{kind}{suffix}", "p", f' class="sdt-hint" id="{item_id}-hint"', **bounds)
            step = "1" if item.type == "integer" else code_text(item.step) if item.step else "any"
            mode = "numeric" if item.type == "integer" else "decimal"
            attributes = f' type="number" step="{step}" inputmode="{mode}"' + "".join(
                f' {name}="{html.escape(value)}"' for name, value in bounds.items()
            )
        elif item.type == "date":
            attributes = ' type="date"'
        describedby = f' aria-describedby="{item_id}-hint"' if hint else ""
        if item.type == "text":
            control = f'<textarea id="{item_id}" name="{item_id}" rows="3"{required}{describedby}></textarea>'
        else:
            control = f'<input id="{item_id}" name="{item_id}"{attributes}{required}{describedby}>'
        return [
            f'<div class="sdt-item sdt-{item.type}" id="item-{item_id}" data-item="{item_id}">',
            f'<label class="sdt-question" for="{item_id}">{self.question(item)}</label>',
            *self.item_hint(item),
            *([hint] if hint else []),
            control,
            f'<p class="sdt-error" id="{item_id}-error" hidden></p>',
            "</div>",
        ]

    def submit_area(self, posts: bool) -> list[str]:
        lines = ['<div class="sdt-submit">']
        if not posts:
            lines += [
                '<fieldset class="sdt-file-format">',
                "<legend>" + self.words("file_format") + "</legend>",
                '<label for="sdt-format-json"><input type="radio" name="sdt-format" id="sdt-format-json" '
                'value="json" checked> ' + self.words("format.json") + "</label>",
                '<label for="sdt-format-csv"><input type="radio" name="sdt-format" id="sdt-format-csv" '
                'value="csv"> ' + self.words("format.csv") + "</label>",
                "</fieldset>",
            ]
        button = "submit.post" if posts else "submit.download"
        lines.append(self.words(button, "button", ' type="submit" id="sdt-submit"'))
        lines.append('<p id="sdt-status" role="status" class="sdt-status"></p>')
        lines.append('<div id="sdt-post-error" class="sdt-alert" role="alert" hidden><p></p>')
        lines.append(self.words("post.download", "button", ' type="button" id="sdt-post-download"'))
        lines.append("</div>")
        lines.append("</div>")
        return lines

    def done_panel(self) -> list[str]:
        return [
            '<div id="sdt-done" class="sdt-done" tabindex="-1" hidden>',
            self.words("done.title", "h2"),
            '<p id="sdt-done-text"></p>',
            self.words("done.again", "button", ' type="button" id="sdt-download-again" hidden'),
            "</div>",
        ]

    def progress_bar(self) -> list[str]:
        total = str(len(self.survey.items))
        return [
            '<div class="sdt-progress">',
            f'<progress id="sdt-progress" max="{total}" value="0" aria-labelledby="sdt-progress-text">'
            "</progress>",
            self.words("progress", attrs=' id="sdt-progress-text"', answered="0", shown=total),
            "</div>",
        ]

    def footer(self) -> list[str]:
        entries = []
        for inst in self.survey.instruments:
            entry = f"{inst.id} {inst.version}"
            if inst.license:
                entry += f" ({inst.license})"
            if inst.citation:
                entry += f": {inst.citation}"
            entries.append(f"<li>{html.escape(entry)}</li>")
        return [
            '<footer class="sdt-footer">',
            "<p>" + self.words("footer.instruments") + f": {html.escape(self.survey.provenance)}</p>",
            f'<ul class="sdt-citations">{"".join(entries)}</ul>',
            "<p>" + self.words("footer.generated", version=_package_version()) + "</p>",
            "</footer>",
        ]


__all__ = [
    "LANGUAGE_NAMES",
    "RESPONSE_FORMAT",
    "RESPONSE_FORMAT_VERSION",
    "UI_STRINGS",
    "form_languages",
    "render_html",
    "show_if_to_js",
    "write",
    "write_html",
]


# ------------------------------------------------------------ reading collected responses


#: The ``format`` value of a response saved by the HTML form.
FORM_FORMAT = RESPONSE_FORMAT


def flatten_record(record: dict, display: str) -> dict:
    """A form response ``{format, instruments, submitted, answers: {...}}`` as one flat row."""
    if record.get("format") != FORM_FORMAT:
        return record
    flat = {f"_{k}": v for k, v in record.items() if k != "answers"}
    flat["_instruments"] = " ".join(
        f"{i.get('id')}@{i.get('version')}" + (f"#{i['hash']}" if isinstance(i.get("hash"), str) else "")
        for i in record.get("instruments", [])
        if isinstance(i, dict)
    )
    answers = record.get("answers") or {}
    if not isinstance(answers, dict):
        raise SdtSurveyError(
            f"{display}: a response of the HTML form has 'answers' that is not a JSON object"
        )
    for item_id, value in answers.items():
        flat[item_id] = " ".join(map(str, value)) if isinstance(value, list) else value
    return flat


def detect(table: ResponseTable, items: Sequence[Item]) -> list[tuple[str, str]]:
    """Why the file holds responses saved by the HTML form (its ``format`` field), or nothing."""
    if "_format" in {str(c).lower() for c in table.frame.columns}:
        return [("html", "responses saved by the sdt-survey HTML form")]
    return []
