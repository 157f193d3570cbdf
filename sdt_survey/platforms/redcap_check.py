"""REDCap's data dictionary format and its check: what REDCap refuses, and what it merely warns about.

:func:`check_dictionary` applies the rules REDCap applies when a data
dictionary is uploaded (Project Setup > Data Dictionary). A message is an
**error** when REDCap refuses the upload, a **warning** (``warning:`` after
its location) when REDCap accepts it but warns, or when it is legal but
worth a second look: a variable name longer than 26 characters (REDCap's
limit is 100), branching logic that refers to a field further down.

What REDCap accepts and the check therefore accepts: ``and``/``or`` in any
case; smart variables (``[event-name]``, ``[user-name]``,
``[current-instance]``, ...); ``[event][field]`` references across events and
``[field][instance]`` references to an instance; ``:value``/``:label``
modifiers; REDCap's functions (``datediff``, ``sum``, ``if``, ...) and
arithmetic; every built-in text validation type (dates, datetimes with or
without seconds, times, numbers with 1 to 4 decimals with a point or a
comma, phone numbers, postal codes, MRNs, ``signature`` on a file field,
``autocomplete`` on a dropdown or SQL field); sliders with their own minimum,
maximum and labels; choice codes of letters, digits, ``_``, ``.`` and ``-``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import pandas as pd

#: REDCap's data dictionary columns, in the order REDCap requires.
COLUMNS = [
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
]
NAME, FORM, HEADER, TYPE, LABEL, CHOICES, NOTE, VALIDATION, VMIN, VMAX = COLUMNS[:10]
IDENTIFIER, BRANCHING, REQUIRED, ALIGNMENT, NUMBER, MATRIX, RANKING, ANNOTATION = COLUMNS[10:]

FIELD_TYPES = (
    "text",
    "notes",
    "dropdown",
    "radio",
    "checkbox",
    "yesno",
    "truefalse",
    "file",
    "slider",
    "calc",
    "descriptive",
    "sql",
)
CHOICE_TYPES = ("dropdown", "radio", "checkbox")
_DATES = ("date_dmy", "date_mdy", "date_ymd")
_DATETIMES = tuple(f"datetime_{o}" for o in ("dmy", "mdy", "ymd")) + tuple(
    f"datetime_seconds_{o}" for o in ("dmy", "mdy", "ymd")
)
_NUMBERS = ("number", *(f"number_{d}dp" for d in range(1, 5)))
_COMMA_NUMBERS = ("number_comma_decimal", *(f"number_{d}dp_comma_decimal" for d in range(1, 5)))
#: Every text validation type REDCap ships with (Control Center > Field Validation Types).
VALIDATION_TYPES = (
    *_DATES,
    *_DATETIMES,
    "time",
    "time_hh_mm_ss",
    "time_mm_ss",
    "integer",
    *_NUMBERS,
    *_COMMA_NUMBERS,
    "alpha_only",
    "email",
    "phone",
    "phone_australia",
    "phone_uk",
    "zipcode",
    "postalcode_australia",
    "postalcode_canada",
    "postalcode_french",
    "postalcode_germany",
    "postalcode_uk",
    "ssn",
    "mrn_10d",
    "mrn_generic",
    "vmrn",
)
#: REDCap accepts names up to 100 characters, and warns above 26 (some exports truncate them).
MAX_FIELD_NAME = 26
REDCAP_MAX_FIELD_NAME = 100
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
FORM_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
#: A raw choice code REDCap accepts: letters, digits, ``_``, ``.``, ``-`` (``-99``, ``1.5``, ``dont-know``).
CHOICE_CODE = re.compile(r"^[A-Za-z0-9_.\-]+$")

#: REDCap's smart variables (Help & FAQ > Smart Variables); those taking ``:param`` are listed by stem.
SMART_VARIABLES = frozenset(
    [
        "user-name",
        "user-fullname",
        "user-email",
        "user-first-name",
        "user-last-name",
        "user-dag-name",
        "user-dag-id",
        "user-dag-label",
        "user-role-id",
        "user-role-name",
        "user-role-label",
        "record-name",
        "record-dag-name",
        "record-dag-id",
        "record-dag-label",
        "is-form",
        "is-survey",
        "is-download",
        "is-api",
        "form-url",
        "form-link",
        "instrument-name",
        "instrument-label",
        "survey-url",
        "survey-link",
        "survey-access-code",
        "survey-return-code",
        "survey-queue-url",
        "survey-queue-link",
        "survey-time-completed",
        "survey-date-completed",
        "survey-time-started",
        "survey-date-started",
        "survey-duration",
        "survey-duration-completed",
        "event-name",
        "event-label",
        "event-id",
        "event-number",
        "previous-event-name",
        "previous-event-label",
        "next-event-name",
        "next-event-label",
        "first-event-name",
        "first-event-label",
        "last-event-name",
        "last-event-label",
        "arm-number",
        "arm-label",
        "current-instance",
        "previous-instance",
        "next-instance",
        "first-instance",
        "last-instance",
        "new-instance",
        "project-id",
        "redcap-base-url",
        "redcap-version",
        "redcap-version-url",
        "survey-base-url",
        "data-table",
        "calendar-url",
        "calendar-link",
        "mycap-participant-code",
        "mycap-participant-url",
        "mycap-participant-link",
        "aggregate-min",
        "aggregate-max",
        "aggregate-mean",
        "aggregate-median",
        "aggregate-sum",
        "aggregate-count",
        "aggregate-stdev",
        "aggregate-unique",
        "scatter-plot",
        "line-chart",
        "bar-chart",
        "pie-chart",
        "donut-chart",
        "stats-table",
        "is-mobile-app",
        "is-mycap",
        "project-language",
    ]
)
#: REDCap's functions usable in logic and calculations.
FUNCTIONS = frozenset(
    [
        "if",
        "datediff",
        "sum",
        "mean",
        "median",
        "min",
        "max",
        "stdev",
        "round",
        "roundup",
        "rounddown",
        "sqrt",
        "abs",
        "exponential",
        "isnumber",
        "isinteger",
        "isblankormissingcode",
        "contains",
        "not_contain",
        "starts_with",
        "ends_with",
        "left",
        "right",
        "length",
        "find",
        "mid",
        "concat",
        "concat_ws",
        "upper",
        "lower",
        "trim",
        "replace_text",
        "year",
        "month",
        "day",
        "today",
        "now",
        "log",
        "mod",
        "datetime_format",
    ]
)
_PIPING_MODIFIERS = frozenset(
    [
        "value",
        "label",
        "checked",
        "unchecked",
        "inline",
        "link",
        "hideunderscore",
        "ampm",
        "year",
        "month",
        "day",
        "raw",
    ]
)

# Adjacent bracket groups form one reference: [field], [field(code)], [event][field], [field][2], ...
_REFERENCE_RUN = re.compile(r"(?:\[[^\[\]]*\])+")
_GROUP = re.compile(r"\[([^\[\]]*)\]")
_STRING = re.compile(r"'[^']*'|\"[^\"]*\"")
_LOGIC_TOKEN = re.compile(
    r"\s+|\band\b|\bor\b|<>|!=|<=|>=|=|<|>|\(|\)|,|[-+*/^]|\d+(?:\.\d+)?|\.\d+|\x00", re.IGNORECASE
)
_FUNCTION_CALL = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*(?=\()")
_WARNING = "warning: "


class DictionaryProblems(list):
    """The messages of :func:`check_dictionary`, errors first, then warnings.

    It is a list of text; ``errors`` holds what REDCap refuses, ``warnings``
    what REDCap accepts (each warning reads ``row N: field 'x': warning: ...``).
    """

    @property
    def errors(self) -> list[str]:
        """What REDCap refuses."""
        return [m for m in self if not is_warning(m)]

    @property
    def warnings(self) -> list[str]:
        """What REDCap accepts but warns about, or is worth a second look."""
        return [m for m in self if is_warning(m)]


def is_warning(message: str) -> bool:
    """Whether a message of :func:`check_dictionary` is a warning (REDCap accepts the dictionary)."""
    return _WARNING in message


def check_dictionary(frame: pd.DataFrame) -> DictionaryProblems:
    """Check a data dictionary against the rules REDCap applies when it is uploaded.

    Parameters
    ----------
    frame : pandas.DataFrame
        A data dictionary with REDCap's 18 columns (e.g. from
        :func:`~sdt_survey.platforms.redcap.read_dictionary`), read as text.

    Returns
    -------
    DictionaryProblems
        A list of messages naming the row (as in the CSV, the header is row 1)
        and the field; its ``errors`` are what REDCap refuses and its
        ``warnings`` (``warning:`` after the location) what REDCap accepts.
        Empty for a dictionary REDCap accepts without remark.
        Errors: the columns and their order; the first field (a text record
        id); field names (lowercase letters, digits and ``_``, starting with a
        letter, at most 100 characters, no REDCap-reserved names) and
        duplicates; form names, each form in one contiguous block; field types;
        choices (``code, label | ...``, unique codes, only on choice fields);
        text validation types and their min/max; the y/blank flags; matrix
        groups (contiguous, one form, one field type, identical choices);
        branching logic (balanced, known operators and functions, fields and
        smart variables that exist, ``[field(code)]`` only for an option of a
        checkbox). Warnings: names over 26 characters; branching logic that
        refers to a field defined later (or to itself).

    Examples
    --------
    >>> from sdt_survey.platforms import build_survey
    >>> from sdt_survey.platforms.redcap import build_dictionary
    >>> frame = build_dictionary(build_survey("program-belonging"))
    >>> check_dictionary(frame)
    []
    >>> frame.loc[2, "Variable / Field Name"] = "pb1"
    >>> check_dictionary(frame)
    ["row 4: field 'pb1': duplicate field name (first at row 3)"]
    >>> frame.loc[2, "Variable / Field Name"] = "pb2_" + "x" * 30
    >>> check_dictionary(frame).errors, len(check_dictionary(frame).warnings)
    ([], 1)
    """
    columns = [str(c) for c in frame.columns]
    if columns != COLUMNS:
        missing = [c for c in COLUMNS if c not in columns]
        extra = [c for c in columns if c not in COLUMNS]
        detail = (f"; missing: {', '.join(missing)}" if missing else "") + (
            f"; unexpected: {', '.join(extra)}" if extra else ""
        )
        order = detail or " (order differs)"
        return DictionaryProblems(
            [f"the columns must be REDCap's 18 data dictionary columns in order{order}"]
        )
    if frame.empty:
        return DictionaryProblems(["the dictionary has no fields"])
    rows = frame.fillna("").astype(str).map(str.strip).to_dict("records")
    problems: list[str] = []
    first_row: dict[str, int] = {}
    for index, row in enumerate(rows):
        first_row.setdefault(row[NAME], index)
    choices_of: dict[str, dict[str, str]] = {}
    type_of: dict[str, str] = {}
    for row in rows:
        type_of.setdefault(row[NAME], row[TYPE])
        if row[TYPE] in CHOICE_TYPES:
            choices_of.setdefault(row[NAME], _parse_choices(row[CHOICES])[0])
    forms = set(row[FORM] for row in rows)
    for index, row in enumerate(rows):
        where = f"row {index + 2}: field {row[NAME]!r}"

        def problem(message: str, where: str = where) -> None:
            problems.append(f"{where}: {message}")

        name, field_type = row[NAME], row[TYPE]
        for message in _name_problems(name, forms):
            problem(message)
        if first_row[name] != index:
            problem(f"duplicate field name (first at row {first_row[name] + 2})")
        if not FORM_NAME.match(row[FORM]):
            problem(
                f"form name {row[FORM]!r} must be lowercase letters, digits and '_', starting with a letter"
            )
        if field_type not in FIELD_TYPES:
            problem(f"field type {field_type!r} is not a REDCap field type ({', '.join(FIELD_TYPES)})")
        if index == 0 and (field_type != "text" or row[BRANCHING] or row[MATRIX]):
            problem("the first field is the record id: a text field without branching logic or matrix")
        if not row[LABEL] and field_type != "descriptive":
            problem("the field label is empty")
        for column in (IDENTIFIER, REQUIRED):
            if row[column] not in ("", "y", "n"):
                problem(f"{column!r} must be 'y' or blank, not {row[column]!r}")
        if row[ALIGNMENT] not in ("", "LV", "LH", "RV", "RH"):
            problem(f"custom alignment must be LV, LH, RV or RH, not {row[ALIGNMENT]!r}")
        if field_type in CHOICE_TYPES:
            for message in _parse_choices(row[CHOICES])[1]:
                problem(message)
        elif row[CHOICES] and field_type not in ("calc", "slider", "sql"):
            problem(f"a {field_type} field takes no choices")
        for message in _validation_problems(row, field_type):
            problem(message)
        if row[BRANCHING]:
            for message in _branching_problems(row[BRANCHING], first_row, index, type_of, choices_of):
                problem(f"branching logic: {message}")
    problems += _form_problems(rows)
    problems += _matrix_problems(rows)
    return DictionaryProblems(sorted(problems, key=is_warning))


_RESERVED_PREFIX = "redcap_"


def _name_problems(name: str, forms: set[str]) -> list[str]:
    found = []
    if not FIELD_NAME.match(name):
        found.append("the name must be lowercase letters, digits and '_', starting with a letter")
    if len(name) > REDCAP_MAX_FIELD_NAME:
        found.append(f"the name is {len(name)} characters long; REDCap's limit is {REDCAP_MAX_FIELD_NAME}")
    elif len(name) > MAX_FIELD_NAME:
        found.append(
            f"{_WARNING}the name is {len(name)} characters long; REDCap accepts up to "
            f"{REDCAP_MAX_FIELD_NAME} but warns above {MAX_FIELD_NAME}"
        )
    if name.startswith(_RESERVED_PREFIX):
        found.append("names beginning with 'redcap_' are reserved by REDCap")
    for form in forms:
        if name in (f"{form}_complete", f"{form}_timestamp"):
            found.append(f"the name is REDCap's own column of form {form!r}")
    return found


def _parse_choices(text: str) -> tuple[dict[str, str], list[str]]:
    """``1, Yes | 0, No`` -> {code: label}, with the problems found."""
    if not text:
        return {}, ["a choice field needs choices ('code, label | code, label')"]
    parsed: dict[str, str] = {}
    problems = []
    for part in text.split("|"):
        code, comma, label = part.partition(",")
        code, label = code.strip(), label.strip()
        if not comma or not code or not label:
            problems.append(f"choice {part.strip()!r} is not 'code, label'")
        elif not CHOICE_CODE.match(code):
            problems.append(f"choice code {code!r} must be letters, digits, '_', '.' or '-'")
        elif code in parsed:
            problems.append(f"choice code {code!r} appears twice")
        else:
            parsed[code] = label
    return parsed, problems


def _number(text: str, comma: bool) -> float | None:
    try:
        return float(text.replace(",", ".") if comma else text)
    except ValueError:
        return None


def _validation_problems(row: Mapping[str, str], field_type: str) -> list[str]:
    validation, low, high = row[VALIDATION], row[VMIN], row[VMAX]
    if field_type == "slider":  # the column means "show the number"; min and max are the slider's range
        found = [
            f"a slider's min/max must be numbers, not {v!r}"
            for v in (low, high)
            if v and _number(v, False) is None
        ]
        if not found and low and high and float(low) >= float(high):
            found.append(f"the slider's min {low} is not below its max {high}")
        return found
    if not validation:
        return ["text validation min/max need a validation type"] if (low or high) else []
    if field_type == "file":
        return (
            []
            if validation == "signature"
            else [f"a file field's validation is 'signature', not {validation!r}"]
        )
    if validation == "autocomplete" and field_type in ("dropdown", "sql"):
        return []
    if field_type != "text":
        return [f"text validation applies to text fields, not {field_type}"]
    if validation not in VALIDATION_TYPES:
        return [f"unknown text validation type {validation!r} (not one of REDCap's built-in types)"]
    found = []
    bounds: list[float] = []
    numeric = validation == "integer" or validation in _NUMBERS or validation in _COMMA_NUMBERS
    for label, value in (("min", low), ("max", high)):
        if not value or not numeric:
            if value and validation == "date_ymd" and not re.match(r"^\d{4}-\d{2}-\d{2}$|^today$", value):
                found.append(f"validation {label} {value!r} is not a date YYYY-MM-DD")
            continue
        number = _number(value, validation in _COMMA_NUMBERS)
        if number is None:
            found.append(f"validation {label} {value!r} is not a number")
            continue
        if validation == "integer" and not number.is_integer():
            found.append(f"validation {label} {value!r} is not a whole number")
        bounds.append(number)
    if len(bounds) == 2 and bounds[0] > bounds[1]:
        found.append(f"validation min {low} is larger than max {high}")
    return found


def _branching_problems(
    logic: str,
    first_row: Mapping[str, int],
    index: int,
    type_of: Mapping[str, str],
    choices_of: Mapping[str, Mapping[str, str]],
) -> list[str]:
    found = []
    for run in _REFERENCE_RUN.finditer(_STRING.sub("''", logic)):
        found += _reference_problems(_GROUP.findall(run.group(0)), first_row, index, type_of, choices_of)
    # What remains once strings, references and known functions are set aside: operators and numbers.
    skeleton = _REFERENCE_RUN.sub("\x00", _STRING.sub("\x00", logic))
    if skeleton.count("'") or skeleton.count('"'):
        found.append("a quote is not closed")
    for call in _FUNCTION_CALL.finditer(skeleton):
        if call.group(1).lower() not in FUNCTIONS and call.group(1).lower() not in ("and", "or"):
            found.append(f"unknown function {call.group(1)!r}")
    skeleton = _FUNCTION_CALL.sub(" ", skeleton)
    leftover = _LOGIC_TOKEN.sub(" ", skeleton).split()
    if leftover:
        found.append(f"unexpected {' '.join(leftover)!r} (use =, <>, <, <=, >, >=, and, or, parentheses)")
    depth = 0
    for char in skeleton:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            break
    if depth != 0:
        found.append("parentheses are not balanced")
    return found


def _is_smart(text: str) -> bool:
    return text.split(":", 1)[0] in SMART_VARIABLES


def _reference_problems(
    groups: Sequence[str],
    first_row: Mapping[str, int],
    index: int,
    type_of: Mapping[str, str],
    choices_of: Mapping[str, Mapping[str, str]],
) -> list[str]:
    """One reference: ``[field]``, ``[field(code)]``, ``[event][field]``, ``[field][2]``, smart variables."""
    fields = [g for g in groups if g.split("(", 1)[0].split(":", 1)[0] in first_row]
    if not fields:
        unknown = [g for g in groups if not _is_smart(g) and not g.isdigit()]
        return [
            f"[{g}] is not a field of this dictionary"
            if FIELD_NAME.match(g.split("(")[0])
            else f"[{g}] is not a field or a REDCap smart variable"
            for g in unknown[-1:]
        ]
    found = []
    target = fields[-1]
    position = groups.index(target)
    for extra in groups[:position]:  # an event: a unique event name or an event smart variable
        if not (_is_smart(extra) or FIELD_NAME.match(extra)):
            found.append(f"[{extra}] is not an event name or a REDCap smart variable")
    for extra in groups[position + 1 :]:  # an instance: a number or an instance smart variable
        if not (extra.isdigit() or _is_smart(extra)):
            found.append(f"[{extra}] is not an instance number or a REDCap smart variable")
    head, _, code = target.partition("(")
    name, _, modifier = head.partition(":")
    code = code.removesuffix(")") if code else None
    if modifier and modifier not in _PIPING_MODIFIERS:
        found.append(f"[{target}]: unknown modifier {modifier!r}")
    if first_row[name] >= index and position == 0:
        found.append(
            f"{_WARNING}[{name}] is not a field defined before this one "
            "(REDCap accepts it; the field stays hidden until that later field is answered)"
        )
    if code is not None:
        if type_of.get(name) != "checkbox":
            found.append(f"[{name}({code})] names an option, but {name!r} is not a checkbox")
        elif code not in choices_of.get(name, {}):
            found.append(f"{code!r} is not a choice code of checkbox {name!r}")
    elif type_of.get(name) == "checkbox" and modifier not in ("checked", "unchecked", "label", "value"):
        found.append(f"checkbox {name!r} must be referenced by option, e.g. [{name}(1)] = '1'")
    return found


def _form_problems(rows: Sequence[Mapping[str, str]]) -> list[str]:
    problems = []
    closed: set[str] = set()
    for index, row in enumerate(rows):
        form = row[FORM]
        previous = rows[index - 1][FORM] if index else None
        if form != previous:
            if form in closed:
                problems.append(
                    f"row {index + 2}: field {row[NAME]!r}: form {form!r} continues after another "
                    "form; the fields of a form must be contiguous"
                )
            if previous is not None:
                closed.add(previous)
    return problems


def _matrix_problems(rows: Sequence[Mapping[str, str]]) -> list[str]:
    problems = []
    seen: dict[str, int] = {}
    for index, row in enumerate(rows):
        group = row[MATRIX]
        if not group:
            continue
        where = f"row {index + 2}: field {row[NAME]!r}: matrix {group!r}"
        if not FIELD_NAME.match(group):
            problems.append(f"{where}: a matrix group name must be lowercase letters, digits and '_'")
        if row[TYPE] not in ("radio", "checkbox"):
            problems.append(f"{where}: matrix fields must be radio or checkbox, not {row[TYPE]!r}")
        if group not in seen:
            seen[group] = index
            continue
        first = rows[seen[group]]
        if rows[index - 1][MATRIX] != group:
            problems.append(f"{where}: the fields of a matrix group must be contiguous")
        if row[FORM] != first[FORM]:
            problems.append(f"{where}: a matrix group must stay within one form")
        if row[TYPE] != first[TYPE]:
            problems.append(f"{where}: every field of a matrix group must have the same type")
        if _parse_choices(row[CHOICES])[0] != _parse_choices(first[CHOICES])[0]:
            problems.append(f"{where}: choices differ from the first field of the group ({first[NAME]!r})")
    return problems


__all__ = ["COLUMNS", "VALIDATION_TYPES", "DictionaryProblems", "check_dictionary", "is_warning"]
