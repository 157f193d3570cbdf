"""The Python API's wording of options, as the command line names them: one table, one function.

Messages from the Python API speak its terms (``invalid="as-missing"``,
``overwrite=True``); the command line shows every error and summary through
:func:`cli_message`, which names the flags instead. A new message that names
an option uses the API's wording and, if the table lacks it, adds a row here.
"""

from __future__ import annotations

import re

#: API wording -> the command line's, applied in order.
API_TO_CLI: tuple[tuple[str, str], ...] = (
    (r'invalid="as-missing"', "--invalid as-missing"),
    (r"\binvalid must be one of", "--invalid must be one of"),
    (r"\bpass overwrite=True\b", "add --force"),
    (r"\bwith overwrite=True\b", "with --force"),
    (r"\bkeygen\(force=True\)", "keygen --force"),
    (r"\(force=True\)", "(--force)"),
    (r"\ballow_shared_key=True\b", "--allow-shared-key"),
    (r"\bkeep_identifiers=True\b", "--keep-identifiers"),
    (r"\bidentifiers=\[\.\.\.\]", "--identifier"),
    (r"\bid_column=NAME\b", "--id-column NAME"),
    (r"\bwave_column=NAME\b", "--wave-column NAME"),
    (r"\buse measurement_invariance\b", "give --group-column"),
    (r"\bsource=NAME\b", "--source NAME"),
    (r"\bas given with source=", "as given with --source"),
    (r"\bmapping=", "--map"),
    (r"\bencoding=NAME\b", "--encoding NAME"),
    (r"\bledger=PATH\b", "--ledger PATH"),
    (r"\bset std_lv=False\b", "drop --std-lv"),
    (
        r"\bFit estimator='ML' to the matrix, or pass the data",
        "Use --estimator ML with --matrix, or give RESPONSES",
    ),
    (r"\btexts=FILE\b", "--texts FILE"),
    (r"\btexts= names\b", "--texts names"),
    (r"\blanguage=LANG\b", "--lang LANG"),
    (r"\bsheet=NAME\b", "--sheet NAME"),
    (r"\bqualtrics_status=", "--qualtrics-status "),
    (r"\(choose another with wave=\)", "(choose another with --wave)"),
    (
        r"by report\.to_frame\(\) or written by report\.write\(FILE\)",
        "with --verbose, or in the --report FILE",
    ),
)

_COMPILED = tuple((re.compile(pattern), flag) for pattern, flag in API_TO_CLI)


def cli_message(text: str) -> str:
    """``text`` with the API's names of options replaced by the command line's flags."""
    for pattern, flag in _COMPILED:
        text = pattern.sub(flag, text)
    return text


__all__ = ["API_TO_CLI", "cli_message"]
