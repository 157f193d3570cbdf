"""Every command, driven with random and hostile inputs and options, fails cleanly and harms nothing.

Hypothesis builds command lines from each command's own click parameters (so a
new option is fuzzed as soon as it exists): positional inputs and paths drawn
from a pool of valid and hostile files (binary junk, empty, header-only,
formula-injection cells, NUL bytes, deep JSON, a mutated instrument), option
values drawn by type (choices plus nonsense; integers such as 0, -1 and huge;
floats such as nan and inf; strings with control characters and escape
sequences), and outputs pointed at fresh paths, existing files, missing folders,
a path under a file, and the inputs themselves. Every run must:

- end with exit status 0, 1 or 2 and no traceback;
- leave every input file byte for byte as it was;
- leave no temporary file behind, and no output where it failed (an existing
  output is untouched unless the run succeeded with --force).
"""

from __future__ import annotations

import hashlib
import itertools
import shutil
import tempfile
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from sdt_survey.cli import cli
from sdt_survey.continuity import continuity_indices
from sdt_survey.scoring import score
from sdt_survey.simulate import simulate

# Commands too slow to fuzz as a whole process many times (the demo runs every stage; it has its own test).
SKIPPED = {"demo"}
HEAVY = {"cfa", "invariance", "report", "efa", "reliability", "model", "power", "cohorts", "simulate"}

STRINGS = ["", " ", "x", "é", "a\nb", "\x00", "\x1b[31mred\x1b[0m", '=HYPERLINK("http://x")', "-1", "../x"]
COLUMNS = ["resident", "program", "pgy", "clinic", "wave", "nope"]
NAMED = {
    "id_column": COLUMNS,
    "wave_column": COLUMNS,
    "group_column": COLUMNS,
    "exposure_id_column": COLUMNS,
    "learner_column": ["resident", "faculty", "nope"],
    "faculty_column": ["faculty", "resident", "nope"],
    "time_column": ["session_date", "resident", "nope"],
    "assigned_column": ["assigned", "nope"],
    "setting_column": ["setting", "nope"],
    "by": ["program", "pgy,clinic", "resident", "program,program", "pb1", "nope"],
    "formula": [
        "belonging ~ coc + (1|program)",
        "belonging ~ C(pgy) + (1|program)",
        "belonging ~ ",
        "~~~",
        "belonging ~ nope + (1|program)",
    ],
    "window": ["academic-year", "block:4", "block:0", "2024-01-01..2023-01-01", "x"],
    "wave": ["1", "2", "99", "x"],
    "lang": ["en", "es", "xx"],
    "zscores": ["sample", "nope.yaml"],
    "careless_threshold": ["evenodd=0.2", "evenodd=nan", "longstring=inf", "x", "irv=-1"],
    "grid_pairs": ["n_programs=2", "effect=0.3", "effect=nan", "n_programs=0", "n_programs=-1", "x", "icc=2"],
    "settings": ["residents_per_program=[4,5]", "n_waves=1", "x", "attrition=nan"],
    "residents": ["3-4", "4-3", "x", "0-0", "2000000-3000000"],
    "within_between": ["coc", "nope"],
    "spline": ["coc:df=3", "coc:df=0", "x"],
    "free": ["pb2=~", "x"],
    "subscales": ["belonging", "nope"],
    "identifiers": ["program", "nope"],
    "post_url": ["https://example.org/submit", "javascript:alert(1)", "x"],
    # malformed addresses only: an unreachable one takes the 10 s timeout (tests/test_hostile_options.py)
    "dask_scheduler": ["nonsense", "tcp://", "x:y:z"],
    "instruments": ["program-belonging", "nope"],
    "responses": [],  # filled with pool paths
}
# Options that would make a run take minutes, held to small values (huge ones must be refused quickly).
CAPPED = {
    ("power", "replicates"): [1, 2, 0, -1],
    ("power", "jobs"): [1, 0, -2],
    ("simulate", "programs"): [1, 2, 0, -1, 10**12],
    ("simulate", "waves"): [1, 2, 0, -1, 10**7],
    ("reliability", "bootstrap"): [0, 3, -1],
    ("efa", "n_iter"): [1, 2, 0, -1],
    ("efa", "n_factors"): [1, 2, 0, -1, 50],
    ("cfa", "modindices"): [0, 3],
}
OUTPUT_FLAGS = {"--out", "--report", "--plot", "--ledger"}
INTS = [0, 1, 2, 3, 5, -1, 10**12]
FLOATS = ["0", "0.5", "1", "-1", "1e300", "nan", "inf", "-inf"]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "(none)"


@pytest.fixture(scope="module")
def pool():
    """Input files, valid and hostile, shared by every example (and checked unchanged after each)."""
    folder = Path(tempfile.mkdtemp(prefix="sdt-fuzz-pool-"))
    sim = simulate("program-belonging", seed=3, n_programs=2, residents_per_program=(8, 8), n_waves=2)
    responses = sim.responses
    files = {}
    files["responses.csv"] = responses.to_csv(index=False).encode()
    files["wave1.csv"] = responses[responses["wave"] == 1].to_csv(index=False).encode()
    files["header-only.csv"] = (",".join(responses.columns) + "\n").encode()
    files["empty.csv"] = b""
    files["junk.bin"] = bytes(range(256)) * 8
    files["nul.yaml"] = b"id: x\x00\nversion: '1'\n"
    hostile = responses.head(6).copy()
    hostile["program"] = ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]
    files["inject.csv"] = hostile.to_csv(index=False).encode()
    files["deep.json"] = ("[" * 5000 + "]" * 5000).encode()
    files["object.jsonl"] = (
        b'{"resident": "R1", "pb1": {"a": 1}}\n{"resident": "R2", "pb1": 1' + b"0" * 5000 + b"}\n"
    )
    files["schedule.csv"] = sim.schedule.to_csv(index=False).encode()
    files["mapping.yaml"] = b"columns: {Q1: pb1}\n"
    files["model.lav"] = b"belonging =~ pb1 + pb2 + pb3 + pb4 + pb5 + pb6 + pb7\n"
    files["broken.yaml"] = b"schema_version: 1\nid: [\n"
    files["continuity.csv"] = (
        continuity_indices(sim.schedule, learner_column="resident", time_column="session_date")
        .indices.to_csv(index=False)
        .encode()
    )
    files["scores.csv"] = (
        score("program-belonging", sim.responses, id_column="resident").scores.to_csv(index=False).encode()
    )
    for name, content in files.items():
        (folder / name).write_bytes(content)
    keygen = CliRunner().invoke(cli, ["keygen", str(folder / "program.key")])
    assert keygen.exit_code == 0, keygen.output
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


# Plausible values, so that most examples get past the options and do real work.
VALID = {
    "id_column": ["resident"],
    "wave_column": ["wave"],
    "group_column": ["program", "pgy"],
    "exposure_id_column": ["resident"],
    "learner_column": ["resident"],
    "faculty_column": ["faculty"],
    "time_column": ["session_date"],
    "assigned_column": ["assigned"],
    "setting_column": ["setting"],
    "setting": ["clinic"],
    "by": ["program", "pgy,clinic"],
    "formula": ["program_belonging ~ coc + (1|program)"],
    "window": ["academic-year"],
    "wave": ["1"],
    "lang": ["en"],
    "zscores": ["sample"],
    "careless_threshold": ["evenodd=0.2"],
    "grid_pairs": ["n_programs=2", "effect=0.3"],
    "settings": ["residents_per_program=[4,5]"],
    "residents": ["3-4"],
    "instruments": ["program-belonging"],
    "identifiers": ["clinic"],
}
PATHS = {
    "schedule": "schedule.csv",
    "syntax_path": "model.lav",
    "mapping": "mapping.yaml",
    "exposure_path": "continuity.csv",
    "scores_path": "scores.csv",
    "responses_path": "responses.csv",
    "key_file": "program.key",
}
OUTPUT_NAMES = ("out_path", "report_path", "plot_path", "out_dir", "path", "ledger_path")
SUFFIXES = {"plot_path": ".png", "report_path": ".csv", "ledger_path": ".json", "out_dir": "", "path": ".key"}


def _output(draw, name: str, command: str, work: Path, hostile: bool, inputs: list[str]) -> str:
    suffix = SUFFIXES.get(name) or {"export": ".csv", "score": ".csv", "report": ".html"}.get(command, ".txt")
    if not hostile:
        return str(work / f"out-{name}{suffix}")
    choice = draw(st.sampled_from(["existing", "input", "missing-folder", "under-file", "odd-suffix"]))
    if choice == "input":
        return draw(st.sampled_from(inputs))
    if choice == "existing":
        return str(work / "existing.csv")
    if choice == "missing-folder":
        return str(work / "missing" / f"out{suffix}")
    if choice == "under-file":
        return str(work / "existing.csv" / f"out{suffix}")
    return str(work / f"out{draw(st.sampled_from(['.xyz', '', '.json', '.parquet', '.sav', '.xlsx']))}")


def _value(draw, command: str, param: click.Parameter, pool: Path, work: Path, hostile: bool) -> str:
    name = param.name
    inputs = [str(p) for p in sorted(pool.iterdir())]
    kind = param.type
    if name in OUTPUT_NAMES:
        return _output(draw, name, command, work, hostile, inputs)
    if (command, name) in CAPPED:
        values = CAPPED[(command, name)]
        return str(draw(st.sampled_from(values if hostile else values[:2])))
    if not hostile:
        if isinstance(kind, click.Choice):
            return draw(st.sampled_from(list(kind.choices)))
        if name in VALID:
            return draw(st.sampled_from(VALID[name]))
        if name in PATHS:
            return str(pool / PATHS[name])
        if isinstance(kind, (click.types.IntParamType, click.IntRange)):
            return str(draw(st.sampled_from([1, 2, 3])))
        if isinstance(kind, (click.types.FloatParamType, click.FloatRange)):
            return draw(st.sampled_from(["0.1", "0.2"]))
    if isinstance(kind, click.Choice):
        return draw(st.sampled_from([*kind.choices, "nonsense"]))
    if NAMED.get(name):
        return draw(st.sampled_from([*NAMED[name], *STRINGS[:3]]))
    if isinstance(kind, click.Path):
        return draw(st.sampled_from([*inputs, str(pool / "missing.csv")]))
    if isinstance(kind, (click.types.IntParamType, click.IntRange)):
        return str(draw(st.sampled_from(INTS)))
    if isinstance(kind, (click.types.FloatParamType, click.FloatRange)):
        return draw(st.sampled_from(FLOATS))
    return draw(st.sampled_from(STRINGS + inputs[:3]))


@st.composite
def command_lines(draw, command: str, pool: Path, work: Path):
    """One command line: plausible throughout, with a hostile value in one or two places (or none)."""
    spec = cli.commands[command]
    params = [p for p in spec.params if p.name != "help"]
    hostile_at = set(draw(st.lists(st.integers(0, len(params) - 1), max_size=2)))
    inputs = [str(p) for p in sorted(pool.iterdir())]
    data = str(pool / "responses.csv")
    args: list[str] = [command]
    for position, param in enumerate(params):
        hostile = position in hostile_at
        if isinstance(param, click.Argument):
            if param.nargs != -1:
                args.append(_value(draw, command, param, pool, work, hostile))
            elif command in ("validate", "export"):
                pick = ["program-belonging", str(pool / "nul.yaml"), str(pool / "broken.yaml"), *inputs]
                args += (
                    draw(st.lists(st.sampled_from(pick), min_size=1, max_size=2))
                    if hostile
                    else ["program-belonging"]
                )
            elif command == "simulate" or command == "report":
                args.append(draw(st.sampled_from(inputs)) if hostile else "program-belonging")
            else:
                args += ["program-belonging", draw(st.sampled_from(inputs)) if hostile else data]
            continue
        required = getattr(param, "required", False)
        if not (required or hostile or draw(st.integers(0, 3)) == 0):
            continue
        if param.name == "dask_scheduler" and not hostile:
            continue  # there is no cluster to reach here
        flag = param.opts[0]
        if getattr(param, "is_flag", False):
            args.append(flag)
        elif param.name == "responses":
            args += [flag, draw(st.sampled_from(inputs)) if hostile else data]
        else:
            args += [flag, _value(draw, command, param, pool, work, hostile)]
    if command == "power":
        # few replicates, one process and small programs, or each example costs seconds to minutes
        defaults = {"--replicates": "2", "--jobs": "1", "--set": "residents_per_program=[4,5]"}
        args += [part for flag, value in defaults.items() if flag not in args for part in (flag, value)]
    return args


def _run_and_check(args: list[str], pool: Path, work: Path) -> None:
    before = {p: _digest(p) for p in pool.iterdir()}
    existing = work / "existing.csv"
    existing.write_text("a user's file\n", encoding="utf-8")
    files_before = {p for p in work.rglob("*")}
    result = CliRunner().invoke(cli, args, catch_exceptions=True)
    shown = " ".join(repr(a) if (not a or " " in a or "\n" in a) else a for a in args)
    assert result.exit_code in (0, 1, 2), f"exit {result.exit_code}: sdt-survey {shown}\n{result.output}"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"traceback from: sdt-survey {shown}\n{result.output}") from result.exception
    # With --force a file named as an output (and not also as an input) may be replaced, nothing else.
    outputs = {a for flag, a in itertools.pairwise(args) if flag in OUTPUT_FLAGS}
    forced = "--force" in args
    for path, digest in before.items():
        replaceable = forced and str(path) in outputs and args.count(str(path)) == 1
        assert replaceable or _digest(path) == digest, f"an input changed: {path.name}: sdt-survey {shown}"
    leftovers = [
        p for p in [*work.rglob("*"), *pool.iterdir()] if ".sdt-tmp" in p.name or p.name.endswith(".tmp")
    ]
    assert not leftovers, f"temporary files left: {leftovers}: sdt-survey {shown}"
    if "--force" not in args:
        assert existing.read_text(encoding="utf-8") == "a user's file\n", f"overwritten: sdt-survey {shown}"
    if result.exit_code != 0:
        created = {p for p in work.rglob("*") if p not in files_before and p.is_file()}
        # a refused or failed run writes nothing, except the data-quality report that explains the failure
        allowed = {Path(a) for flag, a in itertools.pairwise(args) if flag == "--report"}
        assert not (created - allowed), f"partial output {created - allowed}: sdt-survey {shown}"


def _fuzz(command: str, examples: int):
    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        derandomize=True,
        # No shrinking or explaining: each example is a whole command run, and the failure message
        # already shows the command line.
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
    )
    @given(data=st.data())
    def run(pool, data):
        work = Path(tempfile.mkdtemp(prefix="sdt-fuzz-"))
        try:
            args = data.draw(command_lines(command, pool, work))
            _run_and_check(args, pool, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    return run


COMMANDS = sorted(c for c in cli.commands if c not in SKIPPED)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_fails_cleanly_and_harms_nothing(pool, command):
    _fuzz(command, 12 if command in HEAVY else 30)(pool)


def test_the_fuzzer_covers_every_command():
    assert set(COMMANDS) | SKIPPED == set(cli.commands)
    assert {"demo"} == SKIPPED  # the demo runs every stage; tests/test_cli.py runs it whole
