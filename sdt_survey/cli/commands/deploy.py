"""Deploying surveys: export, and keygen for pseudonym keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    pass

from ..._spreadsheet_safe import write_csv
from ...platforms import PLATFORMS, TARGETS, platform_of_target
from ..options import FORMAT_OUTPUT, emit
from ..support import check_files, existing_files, force_option


@click.command()
@click.argument("path", type=click.Path(dir_okay=False))
@click.option(
    "--force",
    is_flag=True,
    help="Replace an existing key file. Pseudonyms made with the old key will never match new ones, "
    "so waves stop linking: only for a key that leaked or was never used.",
)
@FORMAT_OUTPUT
def keygen(path: str, force: bool, fmt: str) -> None:
    """Make a pseudonymization key file for `score --pseudonymize`.

    Writes 32 random bytes (hexadecimal, after comment lines) to PATH,
    readable and writable by you only (mode 600). Make the key once, keep it
    safe and private, and use the same file at every wave: the same key gives
    the same pseudonym, so waves link; whoever has the key can recompute them.
    An existing file is never replaced without --force.

    \b
    Example:
      sdt-survey keygen ~/keys/program.key
      sdt-survey score bpn-residency wave1.csv --id-column resident \\
          --pseudonymize ~/keys/program.key --out scores.csv
    """
    import warnings

    from ...scoring import keygen as make_key

    existed = Path(path).exists()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        written = make_key(path, force=force)
    if existed:
        click.secho(
            f"warning: {written} replaced; pseudonyms made with the old key will not link to new ones",
            fg="yellow",
            err=True,
        )
    if fmt == "table":
        click.echo(f"key: {written} (mode 600; keep it private and keep it safe)")
    elif fmt == "json":
        click.echo(json.dumps({"key": str(written), "mode": "600"}, indent=2))
    else:
        import pandas as pd

        click.echo(write_csv(pd.DataFrame({"key": [str(written)], "mode": ["600"]}), index=False), nl=False)


@click.command(name="export")
@click.argument("instruments", nargs=-1, required=True, metavar="INSTRUMENT...")
@click.option(
    "--to",
    "target",
    required=True,
    type=click.Choice(list(TARGETS)),
    help="The platform: "
    + ", ".join(
        f"{t.name} ({p.title})" if t.name != p.name and p.name != "paper" else t.name
        for p in PLATFORMS
        for t in p.targets
    )
    + ".",
)
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(),
    help="File to write (a folder for reproschema).",
)
@click.option("--lang", default=None, help="Language to write (default: the instruments' first).")
@click.option(
    "--texts",
    type=click.Path(dir_okay=False),
    default=None,
    help="YAML of item wording for items not bundled (proprietary keys); used for this export only.",
)
@click.option("--post-url", default=None, help="html: POST each response to this URL instead of downloading.")
@click.option(
    "--with-scores",
    is_flag=True,
    help="redcap, xlsform: add each subscale and composite score as a calculated field (REDCap calc, "
    "XLSForm calculate), computed as `sdt-survey score` computes it, so the platform shows scores live.",
)
@click.option(
    "--page-size",
    type=click.Choice(["letter", "a4"], case_sensitive=False),
    default=None,
    help="pdf: the paper size (default letter).",
)
@force_option()
@FORMAT_OUTPUT
def export_command(
    instruments: tuple[str, ...],
    target: str,
    out_path: str,
    lang: str | None,
    texts: str | None,
    post_url: str | None,
    page_size: str | None,
    with_scores: bool,
    force: bool,
    fmt: str,
) -> None:
    """Generate a deployable survey from one or more instruments.

    Instruments are combined in the order given; colliding item ids are an
    error. Every field is named by its item id, and the artifact records the
    instrument ids and versions it came from, so collected data reads back
    into `sdt-survey score` unchanged.

    \b
    Examples:
      sdt-survey export bpn-residency --to redcap --out bpn_dictionary.csv
      sdt-survey export bpn-residency continuity-exposure program-belonging \\
          --to xlsform --out residency.xlsx
      sdt-survey export bpn-residency --to html --lang es --out form.html
      sdt-survey export bpnsfs-keys --to qualtrics --texts licensed-wording.yaml --out bpnsfs.txt
      sdt-survey export bpn-residency --to redcap --with-scores --out bpn_dictionary.csv
    """
    from ...platforms import export_survey

    platform, record = platform_of_target(target)
    options: dict[str, str | bool] = {}
    for option, value in (
        ("post_url", post_url),
        ("page_size", page_size.lower() if page_size else None),
        ("with_scores", with_scores or None),
    ):
        if value:
            if option not in record.options:
                takers = [t.name for p in PLATFORMS for t in p.targets if option in t.options]
                flag = "--" + option.replace("_", "-")
                raise click.UsageError(f"{flag} applies to --to {' or '.join(takers)} only")
            options[option] = value
    outputs = {"--out": out_path}
    side_outputs = platform.hook("side_outputs")
    if side_outputs is not None:
        outputs.update(side_outputs(Path(out_path)))
    check_files(
        outputs,
        {"an instrument file": existing_files(instruments), "the --texts file": texts},
        force=force,
        folder="--out" if record.folder else None,
    )
    result = export_survey(
        list(instruments), target, out_path, language=lang, texts=texts, overwrite=force, **options
    )
    emit(result, fmt)
