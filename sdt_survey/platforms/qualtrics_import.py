"""Qualtrics: a survey file (``.qsf``) read into an instrument (``sdt-survey import``).

A ``.qsf`` (Survey > Tools > Import/Export > Export Survey) is JSON: the
survey's blocks, its flow and one element per question. Blocks become
sections in the order of the survey flow; questions become items named by
their data export tag (the column names of the data export):

=================================  ==============================================
Qualtrics question                 item
=================================  ==============================================
multiple choice, single answer     ``single`` (codes: the recode values)
multiple choice, multiple answer   ``multiple``
matrix (Likert, single answer)     one ``likert`` item per statement on the
                                   matrix's scale, in a section of its own
text entry (number validation)     ``integer`` / ``number`` with min and max
text entry                         ``text``
slider                             one ``slider`` per statement
descriptive text                   a note of the section
=================================  ==============================================

Every translation the file carries is a language of the instrument; "force
response" is ``required``; display logic on questions (choices selected,
text entered, compared) becomes ``show_if``. Rank order, constant sum,
side by side, file upload, signature, timing and other questions, display
logic on anything else (embedded data, quotas), skip logic and the survey
flow's branches are reported, each with its question.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .._untrusted import decode_text, load_json
from ..errors import SdtSurveyError
from ..instrument import plural
from .import_draft import Draft, integer_code, language_tag, plain_text
from .import_logic import Token, Untranslatable, attach, condition

SINGLE_SELECTORS = ("SAVR", "SAHR", "SACOL", "DL", "SB", "NPS")
MULTIPLE_SELECTORS = ("MAVR", "MAHR", "MACOL", "MSB")
#: Question types an instrument cannot hold, and why each is left out.
LEFT_OUT = {
    "RO": "a rank order question left out: ranks are not items",
    "CS": "a constant sum question left out",
    "SBS": "a side-by-side question left out",
    "FileUpload": "a file upload left out: sdt-survey reads answers, not files",
    "Draw": "a signature left out: sdt-survey reads answers, not files",
    "Timing": "a timing question left out: the platform records it",
    "Meta": "a meta info question left out: the platform records it",
    "Captcha": "a captcha left out",
    "HeatMap": "a heat map question left out",
    "HL": "a highlight question left out",
    "PGR": "a pick, group and rank question left out",
    "DD": "a drill-down question left out",
    "GAP": "a gap analysis question left out",
    "HotSpot": "a hot spot question left out",
}
_OPERATORS = {"EqualTo": "=", "NotEqualTo": "!=", "GreaterThan": ">", "GreaterThanOrEqual": ">=",
              "LessThan": "<", "LessThanOrEqual": "<="}  # fmt: skip
_LOCATOR = re.compile(
    r"^q://(QID\d+)/(SelectableChoice|SelectableAnswer|ChoiceTextEntryValue)(?:/(\w+))?(?:/(\w+))?$"
)


def owns_file(path: Path) -> bool:
    """Whether ``path`` is a Qualtrics survey file (``.qsf``)."""
    return path.suffix.lower() == ".qsf"


def _ordered(entries: Any, order: Any = None) -> list[tuple[str, dict]]:
    """A choice or answer map (or the list older files write) as [(id, entry)] in display order."""
    if isinstance(entries, list):
        pairs = [(str(i), e) for i, e in enumerate(entries) if isinstance(e, dict)]
    elif isinstance(entries, dict):
        pairs = [(str(k), e) for k, e in entries.items() if isinstance(e, dict)]
    else:
        return []
    if isinstance(order, list) and order:
        rank = {str(k): i for i, k in enumerate(order)}
        pairs.sort(key=lambda pair: rank.get(pair[0], len(rank)))
    return pairs


class _Survey:
    """The .qsf's parts: questions by id, blocks in flow order, the survey's languages."""

    def __init__(self, data: Any, display: str):
        if not isinstance(data, dict) or not isinstance(data.get("SurveyElements"), list):
            raise SdtSurveyError(f"{display}: not a Qualtrics survey file (no SurveyElements)")
        self.entry = data.get("SurveyEntry") or {}
        self.questions: dict[str, dict] = {}
        self.blocks: dict[str, dict] = {}
        self.flow: list[dict] = []
        for element in data["SurveyElements"]:
            if not isinstance(element, dict):
                continue
            kind, payload = element.get("Element"), element.get("Payload")
            if kind == "SQ" and isinstance(payload, dict):
                self.questions[str(payload.get("QuestionID") or element.get("PrimaryAttribute"))] = payload
            elif kind == "BL":
                blocks = payload.values() if isinstance(payload, dict) else payload or []
                for block in blocks:
                    if isinstance(block, dict) and block.get("ID"):
                        self.blocks[block["ID"]] = block
            elif kind == "FL" and isinstance(payload, dict):
                self.flow = payload.get("Flow") or []

    def ordered_blocks(self, draft: Draft) -> list[dict]:
        order: list[str] = []

        def walk(flow: list, inside: str = "") -> None:
            for step in flow:
                if not isinstance(step, dict):
                    continue
                kind = step.get("Type")
                if kind in ("Block", "Standard", "Default") and step.get("ID") in self.blocks:
                    order.append(step["ID"])
                    if inside:
                        draft.note(None, self.blocks[step["ID"]].get("Description", step["ID"]), inside)
                elif kind == "Branch":
                    walk(
                        step.get("Flow") or [],
                        "the survey flow's branch around this block left out: always shown",
                    )
                elif kind in ("Randomizer", "Group", "BlockRandomizer"):
                    if kind != "Group":
                        draft.note(None, "survey flow", "the randomizer of blocks left out: blocks in order")
                    walk(step.get("Flow") or [], inside)
                elif kind in ("EmbeddedData", "EndSurvey", "Authenticator", "WebService", "Quota"):
                    draft.note(None, "survey flow", f"the survey flow's {kind} element left out")

        walk(self.flow)
        if not order:  # an old file without a flow: the blocks as listed
            order = [b for b, block in self.blocks.items() if block.get("Type") != "Trash"]
        for block_id, block in self.blocks.items():
            if block_id not in order and block.get("Type") != "Trash":
                draft.note(
                    None, block.get("Description", block_id), "a block not in the survey flow left out"
                )
            if block.get("Type") == "Trash" and block.get("BlockElements"):
                draft.note(
                    None, "trash", f"{plural(len(block['BlockElements']), 'question')} in the trash left out"
                )
        return [self.blocks[b] for b in order]

    def languages(self) -> list[str]:
        codes = [str(self.entry.get("SurveyLanguage") or "EN")]
        for question in self.questions.values():
            translations = question.get("Language")
            if isinstance(translations, dict):
                codes += [str(code) for code in translations]
        return list(dict.fromkeys(codes))


def read_instrument(path: Path, display: str) -> Draft:
    """Read a Qualtrics .qsf into a :class:`~.import_draft.Draft` (items, sections, report)."""
    text, _ = decode_text(path.read_bytes(), display)
    survey = _Survey(load_json(text, display), display)
    draft = Draft(display, "qualtrics")
    tags: dict[str, str] = {}
    for code in survey.languages():
        tag, known = language_tag(code, {})
        if not known:
            draft.note(
                None, "languages", f"language {code!r} has no standard code: written as {tag!r}", "inferred"
            )
        tags.setdefault(code, tag)
    draft.languages = list(dict.fromkeys(tags.values()))
    draft.title = plain_text(survey.entry.get("SurveyName")) or None
    reader = _Reader(draft, survey, tags)
    for block in survey.ordered_blocks(draft):
        reader.block(block)
    if reader.unnumbered:
        tags = reader.unnumbered
        shown = ", ".join(tags[:3]) + (", ..." if len(tags) > 3 else "")
        draft.note(
            None,
            plural(len(tags), "question"),
            f"{shown}: choices listed without ids (an older file): codes 0, 1, ... in their order",
            "inferred",
        )
    return draft


class _Reader:
    def __init__(self, draft: Draft, survey: _Survey, tags: dict[str, str]):
        self.draft = draft
        self.survey = survey
        self.tags = tags
        self.default = str(survey.entry.get("SurveyLanguage") or "EN")
        #: (question id, statement id or "") -> (item name, {choice id: code}) for display logic.
        self.located: dict[tuple[str, str], tuple[str, dict[str, int | str]]] = {}
        #: Whether the current section is a matrix's own: the next other question starts a new one.
        self.fresh = False
        #: Questions whose choices are a list without ids (older files), reported together.
        self.unnumbered: list[str] = []

    def texts(self, question: dict, part: str, key: str | None = None) -> dict[str, str]:
        """A text in every language: ``part`` is QuestionText, or Choices/Answers/Labels with ``key``."""
        out: dict[str, str] = {}
        translations = question.get("Language") if isinstance(question.get("Language"), dict) else {}
        sources = [(self.default, question), *translations.items()]
        for code, source in sources:
            value = source.get(part) if isinstance(source, dict) else None
            if key is not None:
                entry = dict(_ordered(value)).get(key) if value is not None else None
                value = entry.get("Display") if isinstance(entry, dict) else None
            text = plain_text(value)
            if text and code in self.tags:
                out.setdefault(self.tags[code], text)
        return out

    def block(self, block: dict) -> None:
        title = plain_text(block.get("Description"))
        self.draft.start_section(title or block.get("ID", "block"), None, title=title)
        self.fresh = False
        for element in block.get("BlockElements") or []:
            if isinstance(element, dict) and element.get("Type") == "Question":
                question = self.survey.questions.get(str(element.get("QuestionID")))
                if question is not None:
                    self.question(question)

    def question(self, q: dict) -> None:
        draft = self.draft
        qid = str(q.get("QuestionID"))
        tag = str(q.get("DataExportTag") or qid)
        kind, selector = q.get("QuestionType"), q.get("Selector")
        if kind in LEFT_OUT:
            draft.note(None, tag, LEFT_OUT[kind])
            return
        if self.fresh and kind != "Matrix":
            self.draft.start_section(f"{self.draft.section['id']}_more", None)
            self.fresh = False
        if kind == "DB":
            text = self.texts(q, "QuestionText")
            if text:
                draft.add_note(tag, text, None)
            return
        required = (q.get("Validation") or {}).get("Settings", {}).get("ForceResponse") == "ON"
        logic = self.display_logic(q, tag)
        if kind == "MC" and selector in (*SINGLE_SELECTORS, *MULTIPLE_SELECTORS):
            item = {"id": draft.make_id(tag, None), "text": self.texts(q, "QuestionText") or draft.text(tag)}
            item["type"] = "single" if selector in SINGLE_SELECTORS else "multiple"
            item["choices"], codes = self.choices(q, "Choices", tag)
            self.finish(item, tag, required, logic)
            self.located[(qid, "")] = (tag, codes)
        elif kind == "TE" and selector in ("SL", "ML", "ESTB", "PW", None):
            item = {"id": draft.make_id(tag, None), "text": self.texts(q, "QuestionText") or draft.text(tag)}
            self.text_entry(item, q)
            self.finish(item, tag, required, logic)
            self.located[(qid, "")] = (tag, {})
        elif kind == "Matrix" and q.get("SubSelector") in ("SingleAnswer", "DL") and selector != "Profile":
            self.matrix(q, qid, tag, required, logic)
        elif kind == "Slider":
            self.sliders(q, tag, required, logic)
        else:
            draft.note(None, tag, f"a {kind} question ({selector}) left out: an instrument has no such item")

    def finish(self, item: dict, name: str, required: bool, logic: Any) -> None:
        if required:
            item["required"] = True
        attach(item, logic)
        self.draft.add_item(item, None, name)

    def choices(self, q: dict, part: str, tag: str) -> tuple[list[dict], dict[str, int | str]]:
        recodes = (
            q.get("RecodeValues")
            if part == "Choices"
            else q.get("AnswerRecodeValues") or q.get("RecodeValues")
        )
        recodes = recodes if isinstance(recodes, dict) else {}
        order = q.get("ChoiceOrder" if part == "Choices" else "AnswerOrder")
        out, codes = [], {}
        for cid, entry in _ordered(q.get(part), order):
            code = integer_code(recodes.get(cid, cid))
            out.append({"value": code, "label": self.texts(q, part, cid) or self.draft.text(str(code))})
            codes[cid] = code
            if entry.get("TextEntry") in ("true", True):
                self.draft.note(None, tag, f"the text box of choice {cid} left out")
        if isinstance(q.get(part), list) and not order:
            self.unnumbered.append(tag)
        return out, codes

    def text_entry(self, item: dict, q: dict) -> None:
        settings = (q.get("Validation") or {}).get("Settings") or {}
        content = settings.get("ContentType")
        if content == "ValidNumber":
            number = settings.get("ValidNumber") or {}
            item["type"] = "integer" if str(number.get("NumDecimals", "")) == "0" else "number"
            for key, source in (("min", "Min"), ("max", "Max")):
                try:
                    value = float(number.get(source, ""))
                except (TypeError, ValueError):
                    continue
                item[key] = int(value) if value.is_integer() else value
        elif content == "ValidDate":
            item["type"] = "date"
        else:
            item["type"] = "text"
            if content:
                self.draft.note(None, item["id"], f"content validation {content!r} left out: free text")

    def matrix(self, q: dict, qid: str, tag: str, required: bool, logic: Any) -> None:
        draft = self.draft
        preamble = self.texts(q, "QuestionText")
        section = draft.start_section(tag, None)
        if preamble:
            section["preamble"] = preamble
        self.fresh = True
        answers, codes = self.choices(q, "Answers", tag)
        export_tags = q.get("ChoiceDataExportTags") if isinstance(q.get("ChoiceDataExportTags"), dict) else {}
        for cid, _ in _ordered(q.get("Choices"), q.get("ChoiceOrder")):
            name = str(export_tags.get(cid) or f"{tag}_{cid}")
            item = {
                "id": draft.make_id(name, None),
                "text": self.texts(q, "Choices", cid) or draft.text(name),
            }
            item["type"] = "single"
            item["choices"] = [dict(a) for a in answers]
            self.finish(item, name, required, logic)
            draft.grid[item["id"]] = tag
            self.located[(qid, cid)] = (name, codes)

    def sliders(self, q: dict, tag: str, required: bool, logic: Any) -> None:
        config = q.get("Configuration") or {}
        low, high = config.get("CSSliderMin", 0), config.get("CSSliderMax", 100)
        decimals = int(config.get("NumDecimals", 0) or 0)
        labels = [self.texts(q, "Labels", lid) for lid, _ in _ordered(q.get("Labels"))]
        statements = _ordered(q.get("Choices"), q.get("ChoiceOrder"))
        for cid, _ in statements:
            name = f"{tag}_{cid}"
            # One slider: the question is its text; several: each statement is one.
            text = self.texts(q, "QuestionText") if len(statements) == 1 else self.texts(q, "Choices", cid)
            item = {"id": self.draft.make_id(name, None), "text": text or self.draft.text(tag)}
            item.update(type="slider", min=low, max=high, step=1 if decimals == 0 else 10**-decimals)
            if len(labels) in (2, 3) and all(labels):
                item["anchors"] = labels
            elif labels:
                self.draft.note(None, name, f"{len(labels)} slider labels left out: a slider has 2 or 3")
            self.finish(item, name, required, logic)

    def display_logic(self, q: dict, tag: str) -> Any:
        logic = q.get("DisplayLogic")
        if not isinstance(logic, dict):
            if q.get("SkipLogic"):
                self.draft.note(None, tag, "skip logic left out: write the condition on the later questions")
            return None
        try:
            tokens: list[Token] | Untranslatable = self.logic_tokens(logic)
        except Untranslatable as reason:
            tokens = reason
        raw = " ".join(
            str(c.get("Description") or c.get("LeftOperand"))
            for group in _ordered({k: v for k, v in logic.items() if k.isdigit()})
            for _, c in _ordered({k: v for k, v in group[1].items() if k.isdigit()})
        )
        return condition(self.draft, tokens, plain_text(raw) or "display logic", None, tag, "display logic")

    def logic_tokens(self, logic: dict) -> list[Token]:
        tokens: list[Token] = []
        groups = [(k, v) for k, v in logic.items() if k.isdigit() and isinstance(v, dict)]
        for g, (_, group) in enumerate(sorted(groups, key=lambda kv: int(kv[0]))):
            if g:
                tokens.append(Token(str(group.get("Conjuction", "And")).lower()))
            tokens.append(Token("("))
            conditions = sorted(((k, v) for k, v in group.items() if k.isdigit()), key=lambda kv: int(kv[0]))
            for c, (_, item) in enumerate(conditions):
                if c:
                    tokens.append(Token(str(item.get("Conjuction", "And")).lower()))
                tokens += self.condition_tokens(item)
            tokens.append(Token(")"))
        if not tokens:
            raise Untranslatable("it has no conditions")
        return tokens

    def condition_tokens(self, c: dict) -> list[Token]:
        if c.get("LogicType") != "Question":
            raise Untranslatable(f"it tests {c.get('LogicType')!r}, not an answer")
        match = _LOCATOR.match(str(c.get("LeftOperand") or c.get("ChoiceLocator") or ""))
        if match is None:
            raise Untranslatable(f"it tests {c.get('LeftOperand')!r}")
        qid, what, first, second = match.groups()
        operator = str(c.get("Operator"))
        if what == "ChoiceTextEntryValue":
            name, _ = self.located.get((qid, ""), (None, {}))
            if name is None:
                raise Untranslatable(f"it refers to {qid}, which is not an imported item before it")
            if operator in ("Empty", "NotEmpty"):
                return [
                    Token("ref", name),
                    Token("op", "=" if operator == "Empty" else "!="),
                    Token("value", ""),
                ]
            if operator not in _OPERATORS:
                raise Untranslatable(f"the operator {operator!r} has no equivalent")
            return [
                Token("ref", name),
                Token("op", _OPERATORS[operator]),
                Token("value", c.get("RightOperand", "")),
            ]
        row, answer = (first, second) if second is not None else ("", first)
        name, codes = self.located.get((qid, row), (None, {}))
        if name is None:
            raise Untranslatable(f"it refers to {qid}, which is not an imported item before it")
        if answer not in codes:
            raise Untranslatable(f"choice {answer} of {name!r} is not one of its choices")
        if operator not in ("Selected", "NotSelected"):
            raise Untranslatable(f"the operator {operator!r} has no equivalent")
        selected = Token("selected", (name, codes[answer]))
        return [selected] if operator == "Selected" else [Token("not"), selected]
