"""Start-up stays cheap (issue 17): what needs only the instrument layer loads no numerical library.

Each check runs in a fresh interpreter (a subprocess), runs the command line's
group as ``sdt-survey`` would, and reads ``sys.modules`` at the end.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("pandas", "scipy", "statsmodels", "matplotlib")

PROBE = """
import json, sys
from sdt_survey.cli import cli
try:
    cli.main(sys.argv[1:], prog_name="sdt-survey", standalone_mode=False)
except SystemExit:
    pass
print("\\nMODULES " + json.dumps(sorted(sys.modules)))
"""


def loaded_modules(*args: str, code: str = PROBE) -> tuple[str, set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr
    out, _, modules = done.stdout.rpartition("\nMODULES ")
    return out, set(json.loads(modules))


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY)


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["cfa", "--help"],
        ["score", "--help"],
        ["list"],
        ["list", "--format", "json"],
        ["info", "bpn-residency"],
        ["validate", "instruments/bpn-residency.yaml"],
        ["validate", "instruments/bpn-residency.yaml", "--format", "json"],
    ],
    ids=" ".join,
)
def test_instrument_commands_load_no_numerical_library(args):
    out, modules = loaded_modules(*args)
    assert out.strip()  # the command ran and printed
    assert heavy(modules) == []


@pytest.mark.parametrize("package", ["sdt_survey", "sdt_survey.cli", "sdt_survey.factor", "sdt_survey.mixed"])
def test_importing_a_package_loads_no_numerical_library(package):
    _, modules = loaded_modules(
        code=f"import json, sys, {package}\n" + 'print("\\nMODULES " + json.dumps(sorted(sys.modules)))'
    )
    assert heavy(modules) == []
    assert "numpy" not in modules


def test_cfa_does_not_load_exploratory_analysis():
    code = (
        "import json, sys\nfrom sdt_survey.factor import cfa\n"
        'print("\\nMODULES " + json.dumps(sorted(sys.modules)))'
    )
    _, modules = loaded_modules(code=code)
    assert "sdt_survey.factor.sem.fitting" in modules
    assert not any(m.startswith("sdt_survey.factor.exploratory") for m in modules)
    assert not any(m.startswith(("sdt_survey.mixed", "statsmodels", "matplotlib")) for m in modules)


def test_group_help_lists_every_command_with_its_own_short_help():
    """The lazy table's one-line help is what each command's docstring gives (keep them in step)."""
    from click.testing import CliRunner

    from sdt_survey.cli import cli
    from sdt_survey.cli.group import COMMANDS

    lazy = CliRunner().invoke(cli, ["--help"]).output
    for name, (target, short) in COMMANDS.items():
        command = cli.commands[name]  # imports it
        assert f"{command.callback.__module__.rpartition('.')[2]}:{command.callback.__name__}" == target
        assert command.name == name
        assert command.get_short_help_str(limit=10**6) == short, name
    assert set(cli.commands) == set(COMMANDS)
    assert CliRunner().invoke(cli, ["--help"]).output == lazy  # the same once every command is loaded


def test_public_names_stay_importable_and_listed():
    import sdt_survey
    import sdt_survey.factor as factor

    for module in (sdt_survey, factor):
        for name in module.__all__:
            assert name in dir(module)
            assert getattr(module, name) is not None
    from sdt_survey.factor.sem import ordinal_invariance  # a function named like its module

    assert callable(ordinal_invariance) and not isinstance(ordinal_invariance, type(sdt_survey))


def test_sem_fits_load_no_scipy_special_linalg_or_stats():
    """ML, MLR, FIML and cluster-robust fits (and their tables) run on numpy alone (issue 15).

    scipy.special (with its array-API machinery and numpy.f2py) and scipy.linalg took longer to
    import than these models take to fit; ``sdt_survey.stats.special`` computes the same numbers.
    """
    golden = "tests/goldens/lavaan_sem_extensions.json"
    code = f"""
import json, sys, warnings
import pandas as pd
from sdt_survey.factor import cfa
warnings.simplefilter("ignore")
g = json.load(open({golden!r}))
pd_data = pd.read_csv("tests/data/PoliticalDemocracy.csv")
for est in ("ML", "MLR"):
    r = cfa(pd_data, g["pd_ml"]["model"], estimator=est)
    r.parameters, r.fit_measures, r.to_dict()
r = cfa(pd.read_csv("tests/data/residency_mimic.csv"), g["residency_fiml_mlr"]["model"],
        estimator="MLR", missing="fiml")
r.parameters, r.fit_measures, r.to_dict()
two = pd.read_csv("tests/data/demo_twolevel.csv")
r = cfa(two, "f =~ y1 + y2 + y3\\ng =~ y4 + y5 + y6", estimator="MLR", cluster="cluster")
r.parameters, r.fit_measures, r.to_dict()
print("\\nMODULES " + json.dumps(sorted(sys.modules)))
"""
    _, modules = loaded_modules(code=code)
    assert "sdt_survey.factor.sem.fitting" in modules
    scipy_parts = ("scipy.special", "scipy.linalg", "scipy.stats")
    assert sorted(m for m in modules if m.startswith(scipy_parts)) == []
    assert "numpy.f2py" not in modules


def test_the_entry_point_exits_without_teardown_but_with_its_status_output_and_exit_handlers():
    """``sdt-survey`` skips the interpreter's teardown (issue 15), losing nothing on the way out."""
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: sys.stderr.write('exit handlers ran\\n'))\n"
        "from sdt_survey.cli import main\nmain()\n"
    )

    def run(*args):
        return subprocess.run(
            [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT, timeout=120
        )

    listed = run("list", "--format", "json")
    assert listed.returncode == 0
    assert "bpn-residency" in [entry["name"] for entry in json.loads(listed.stdout)]  # all of it, parsed
    assert "exit handlers ran" in listed.stderr
    bad_option = run("--no-such-option")
    assert bad_option.returncode == 2 and "No such option" in bad_option.stderr
    assert "exit handlers ran" in bad_option.stderr
    missing = run("info", "no-such-instrument")
    assert missing.returncode == 1 and "no such file" in missing.stderr


def test_a_program_that_loads_an_instrument_first_knows_every_platform_alias():
    # The registry registers the alias keys when it loads; a fresh program whose first call is
    # load_instrument must not see "unknown target 'qualtrics' (one of )".
    code = (
        "import json, sys, sdt_survey\n"
        "inst = sdt_survey.load_instrument('tests/fixtures/clinic-check.yaml')\n"
        "print(inst.id, sorted({k for i in inst.items for k in i.aliases}))\n"
        'print("\\nMODULES " + json.dumps(sorted(sys.modules)))'
    )
    out, modules = loaded_modules(code=code)
    assert out.strip() == "clinic-check ['qualtrics']"
    assert heavy(modules) == []
