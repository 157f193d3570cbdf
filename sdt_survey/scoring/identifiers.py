"""Find columns that identify a person, by their header and by their values.

A response export often carries more than answers: the respondent's name,
e-mail, phone, date of birth, or a free-text "notes" column where a
coordinator typed who someone is. Such columns must not reach a scored file
that is shared, so :func:`detect_identifier_columns` flags them, each with a
reason a person can check:

* **by header**, in several languages: a name such as ``email``,
  ``Nombre completo``, ``correo_electronico``, ``téléphone``,
  ``fecha_nacimiento``, ``Adresse``, ``comentarios`` or ``misc``;
* **by content**: most values look like e-mail addresses, phone numbers,
  dates of birth, personal names, or sentences of free text.

Detection works on whole columns with pandas string operations. It is a
safety net, not a proof: see ``docs/scoring.md`` for what it cannot see.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import date

import pandas as pd

#: Column names (lowercased, non-alphanumerics removed) that hold direct identifiers,
#: whatever their values: these are refused as grouping columns too.
IDENTIFIER_NAMES = frozenset(
    {
        "name",
        "firstname",
        "lastname",
        "fullname",
        "surname",
        "givenname",
        "recipientfirstname",
        "recipientlastname",
        "recipientemail",
        "email",
        "emailaddress",
        "phone",
        "phonenumber",
        "mobile",
        "cellphone",
        "telephone",
        "address",
        "streetaddress",
        "ipaddress",
        "locationlatitude",
        "locationlongitude",
        "latitude",
        "longitude",
        "mrn",
        "medicalrecordnumber",
        "dob",
        "dateofbirth",
        "birthdate",
        "ssn",
        "npi",
        "externalreference",
        "externaldatareference",
        "submittername",
        "username",
        "deviceid",
        "subscriberid",
        "simserial",
        # The same in other languages, written without accents.
        "nombre",
        "nombrecompleto",
        "apellido",
        "apellidos",
        "nom",
        "prenom",
        "nome",
        "cognome",
        "vorname",
        "nachname",
        "correo",
        "correoelectronico",
        "courriel",
        "telefono",
        "telefone",
        "celular",
        "direccion",
        "adresse",
        "endereco",
        "indirizzo",
        "fechanacimiento",
        "fechadenacimiento",
        "datenaissance",
        "datedenaissance",
        "datanascimento",
        "geburtsdatum",
    }
)

#: Words that, anywhere in a header, mark what the column may hold. A header
#: is split into words (``fecha_nacimiento`` -> fecha, nacimiento;
#: ``RecipientEmail`` -> recipient, email) and accents are ignored.
IDENTIFIER_WORDS: Mapping[str, str] = {
    **dict.fromkeys(
        [
            "name", "names", "nombre", "nombres", "apellido", "apellidos", "nom", "prenom",
            "nome", "cognome", "sobrenome", "vorname", "nachname", "surname", "firstname",
            "lastname", "fullname", "username",
        ],
        "a personal name",
    ),
    **dict.fromkeys(
        ["email", "mail", "correo", "courriel", "emailaddress"],
        "an e-mail address",
    ),
    **dict.fromkeys(
        ["phone", "telephone", "telefono", "telefone", "tel", "mobile", "movil", "celular", "cellphone"],
        "a phone number",
    ),
    **dict.fromkeys(
        ["dob", "birth", "birthday", "birthdate", "born", "nacimiento", "naissance", "nascimento",
         "geburtsdatum", "geburtstag"],
        "a date of birth",
    ),
    **dict.fromkeys(
        ["address", "direccion", "domicilio", "adresse", "endereco", "indirizzo", "street", "calle"],
        "an address",
    ),
    **dict.fromkeys(["ipaddress", "ip"], "an IP address"),
    **dict.fromkeys(
        ["mrn", "ssn", "npi", "dni", "passport", "pasaporte"],
        "an identification number",
    ),
    **dict.fromkeys(
        [
            "note", "notes", "nota", "notas", "comment", "comments", "comentario", "comentarios",
            "commentaire", "commentaires", "commento", "commenti", "remark", "remarks",
            "observacion", "observaciones", "misc", "miscellaneous", "other", "others", "otro",
            "otros", "otra", "otras", "autre", "autres", "freetext", "textolibre", "textelibre",
            "text", "texto", "texte", "feedback", "suggestions", "sugerencias",
        ],
        "free text",
    ),
}  # fmt: skip

#: Share of a column's non-missing values that must look alike for a content verdict.
CONTENT_SHARE = 0.8
#: Distinct values per respondent (or per non-missing value) from which a column is "mostly distinct".
DISTINCT_SHARE = 0.8
#: Names and free text are judged on at least this many values.
MIN_VALUES_FOR_NAMES = 3
#: Ages (in years) that make a past date read as a date of birth.
BIRTH_AGES = (16, 110)
#: Values read for content: a larger column is judged on a fixed random sample of this many.
CONTENT_SAMPLE = 5000
#: The longest value of a short categorical code (program, pgy, clinic).
CODE_LENGTH = 24

_EMAIL = r"[^@\s<>(),;:]+@[^@\s<>(),;:]+\.[^\W\d_]{2,}"
# Digits with the separators phone numbers are written with; digit count checked apart.
_PHONE = r"\+?\(?\d[\d\s().\-/]{5,}\d(?:\s*(?:x|ext\.?)\s*\d{1,5})?"
# A whole value that is a date, perhaps with a time of day.
_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_ISO_DATE = rf"^(?P<y>\d{{4}})[-/.](?P<m>\d{{1,2}})[-/.](?P<d>\d{{1,2}}){_TIME}$"
_DMY_DATE = rf"^(?P<d>\d{{1,2}})[-/.](?P<m>\d{{1,2}})[-/.](?P<y>\d{{4}}){_TIME}$"
_DATE_LIKE = r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"
# One word of a name: letters, with inner hyphens or apostrophes (Jean-Luc, O'Neil).
_WORD = r"[^\W\d_]+(?:[-'’][^\W\d_]+)*\.?"
_NAME = rf"{_WORD}(?:\s+{_WORD}){{1,3}}"
# Lowercase particles that names carry (Juan de la Cruz, Ludwig van Beethoven).
_PARTICLES = r"\b(?:de|del|la|las|los|da|das|do|dos|di|du|le|van|von|der|den|y|e|bin|ibn|al)\b"


def header_words(column: object) -> list[str]:
    """The words of a column header, lowercased and without accents.

    Examples
    --------
    >>> header_words("RecipientEmail"), header_words("Fecha de nacimiento")
    (['recipient', 'email'], ['fecha', 'de', 'nacimiento'])
    """
    text = unicodedata.normalize("NFKD", str(column))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)
    return [word for word in re.split(r"[^a-z]+", text.lower()) if word]


#: Words a platform puts around a field's name (REDCap's ``text_ssn``, ``mrn_10d``, ``telephone_1``):
#: without them the name is read as it is.
_AFFIXES = frozenset({"text", "txt", "field", "number", "num", "nbr", "no", "nr", "d", "value", "the"})


def _is_identifier_name(column: object) -> bool:
    """Whether a header names a direct identifier: its words, numbers and platform affixes aside.

    Examples
    --------
    >>> [_is_identifier_name(c) for c in ["telephone_1", "text_ssn", "mrn_10d", "SSN", "IP Address"]]
    [True, True, True, True, True]
    >>> [_is_identifier_name(c) for c in ["phone_use_1", "ssn_complete", "name_recall3", "rs2", "nametag"]]
    [False, False, False, False, False]
    """
    words = header_words(column)
    core = [w for w in words if w not in _AFFIXES]
    return "".join(words) in IDENTIFIER_NAMES or (bool(core) and "".join(core) in IDENTIFIER_NAMES)


def identifier_columns(columns: Sequence[str], declared: Sequence[str] = ()) -> list[str]:
    """Columns named like a direct identifier (see :data:`IDENTIFIER_NAMES`), and those declared.

    This looks at names only; :func:`detect_identifier_columns` also reads the values.

    Examples
    --------
    >>> identifier_columns(["program", "Email", "correo_electrónico"], ["nickname"])
    ['nickname', 'Email', 'correo_electrónico']
    """
    found = [c for c in columns if _is_identifier_name(c)]
    return list(dict.fromkeys([*declared, *found]))


def _header_reason(column: object) -> str | None:
    """What the header says the column holds, or None."""
    words = header_words(column)
    words = [w for w in words if w not in _AFFIXES] + [w for w in words if w in _AFFIXES]
    kind = next((IDENTIFIER_WORDS[w] for w in words if w in IDENTIFIER_WORDS), None)
    if _is_identifier_name(column):
        return kind or "a direct identifier"
    return kind


def _share(mask: pd.Series) -> float:
    return float(mask.mean()) if len(mask) else 0.0


def _looks_like_codes(values: pd.Series) -> bool:
    """Short values that repeat: a grouping code (program, pgy, clinic), not a person."""
    if values.empty:
        return False
    short = bool((values.str.len() <= CODE_LENGTH).all())
    return short and values.nunique() <= len(values) / 2


def _email_share(values: pd.Series) -> float:
    return _share(values.str.fullmatch(_EMAIL))


def _phone_share(values: pd.Series) -> float:
    shaped = values.str.fullmatch(_PHONE)
    digits = values.str.count(r"\d")
    # A plain number (a count, a duration, a numeric id) or a date is not a phone number.
    plain_number = pd.to_numeric(values, errors="coerce").notna()
    dated = values.str.fullmatch(_DATE_LIKE)
    return _share(shaped & digits.between(7, 15) & ~plain_number & ~dated)


def _birth_date_share(values: pd.Series, today: date) -> float:
    parts = values.str.extract(_ISO_DATE)
    dmy = values.str.extract(_DMY_DATE)
    parts = parts.fillna(dmy).astype("string")
    # Impossible dates (month 13, 30 February) become NaT rather than errors.
    stamp = pd.to_datetime(
        parts["y"] + "-" + parts["m"] + "-" + parts["d"], format="%Y-%m-%d", errors="coerce"
    )
    age = today.year - stamp.dt.year
    return _share(stamp.notna() & age.between(*BIRTH_AGES))


def _name_share(values: pd.Series) -> float:
    without_particles = values.str.replace(_PARTICLES, " ", regex=True).str.split().str.join(" ")
    shaped = values.str.fullmatch(_NAME) & without_particles.str.fullmatch(_NAME)
    initials = without_particles.str.replace(r"(?:^|\s)([^\W\d_])[^\s]*", r"\1", regex=True)
    capitalized = initials == initials.str.upper()
    return _share(shaped & capitalized)


def _free_text_share(values: pd.Series) -> float:
    return _share(values.str.count(r"\S+") >= 5)


def _content_reason(values: pd.Series, today: date, respondents: int | None) -> str | None:
    """What most values of a text column look like, or None."""
    if values.empty:
        return None
    # Per respondent when known: in a file of several waves each person's name appears once a wave.
    distinct = values.nunique() / min(len(values), respondents or len(values))
    if len(values) > CONTENT_SAMPLE:
        # Shares are estimated on a fixed random sample: within about 1% on any file size.
        values = values.sample(n=CONTENT_SAMPLE, random_state=0)
    for share, what in (
        (_email_share(values), "e-mail addresses"),
        (_phone_share(values), "phone numbers"),
        (_birth_date_share(values, today), "dates of birth"),
    ):
        if share >= CONTENT_SHARE:
            return f"{share:.0%} of values look like {what}"
    if len(values) >= MIN_VALUES_FOR_NAMES and distinct >= DISTINCT_SHARE:
        for share, what in ((_name_share(values), "personal names"), (_free_text_share(values), "free text")):
            if share >= CONTENT_SHARE:
                return f"{share:.0%} of values look like {what}, almost all different"
    return None


def detect_identifier_columns(
    frame: pd.DataFrame,
    *,
    declared: Iterable[str] = (),
    exclude: Iterable[str] = (),
    respondents: int | None = None,
    today: date | None = None,
) -> dict[str, str]:
    """Columns that identify a person, each with the reason it was flagged.

    Parameters
    ----------
    frame : pandas.DataFrame
        The columns to examine (pass the non-item columns, as read).
    declared : iterable of str
        Columns the user named as identifiers; flagged whatever they hold.
    exclude : iterable of str
        Columns never flagged: the respondent id (pseudonymized instead), the
        wave column, and the items.
    respondents : int, optional
        How many people the rows belong to (distinct ids): names and free
        text must be distinct per person, not per row, so that a file of
        several waves is judged like one wave. Default: one person per row.
    today : datetime.date, optional
        The date ages are counted from (default: today).

    Returns
    -------
    dict
        Column -> reason, in the order of the frame (declared columns first).
        A column named like a direct identifier (:data:`IDENTIFIER_NAMES`) or
        whose values look like e-mail addresses, phone numbers, dates of
        birth, personal names or free text is flagged. A header word that only
        hints at one (``program_name``, ``other``) is not enough when the
        values are short repeated codes.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"program": ["A", "A", "B"], "correo": ["a@x.org", "b@x.org", "c@x.org"]})
    >>> detect_identifier_columns(frame)
    {'correo': "the name 'correo' suggests an e-mail address; 100% of values look like e-mail addresses"}
    """
    today = today or date.today()
    skip = set(exclude)
    found: dict[str, str] = {column: "declared an identifier (identifiers=[...])" for column in declared}
    for position, column in enumerate(frame.columns):
        if column in skip or column in found:
            continue
        series = frame.iloc[:, position]
        text = series.astype("string").str.strip()
        values = text[text.notna() & (text != "")].reset_index(drop=True)
        # Numbers are not read for content: a numeric phone or id looks like any count.
        numeric = pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)
        header = _header_reason(column)
        content = None if numeric else _content_reason(values, today, respondents)
        strong_name = _is_identifier_name(column)
        reasons = []
        if header and (strong_name or content or not _looks_like_codes(values)):
            reasons.append(f"the name {str(column)!r} suggests {header}")
        if content:
            reasons.append(content)
        if reasons:
            found[column] = "; ".join(reasons)
    return found


def id_copy_columns(frame: pd.DataFrame, id_column: str, *, exclude: Iterable[str] = ()) -> dict[str, str]:
    """Columns that repeat the respondent id: they would undo its pseudonymization.

    A column is a copy when, on at least :data:`CONTENT_SHARE` of the rows with
    an id, its value (as text, without surrounding spaces) is that id.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"id": ["a1", "b2", "c3"], "record": ["a1", "b2", "c3"], "pgy": [1, 1, 2]})
    >>> id_copy_columns(frame, "id")
    {'record': "repeats the respondent id (column 'id') on 100% of rows"}
    """
    ids = frame[id_column].astype("string").str.strip()
    has_id = (ids.notna() & (ids != "")).to_numpy(dtype=bool)
    if not has_id.any():
        return {}
    skip = {id_column, *exclude}
    found = {}
    for position, column in enumerate(frame.columns):
        if column in skip:
            continue
        values = frame.iloc[:, position].astype("string").str.strip()
        same = (values == ids).fillna(False).to_numpy(dtype=bool)
        share = same[has_id].mean()
        if share >= CONTENT_SHARE:
            found[column] = f"repeats the respondent id (column {id_column!r}) on {share:.0%} of rows"
    return found
