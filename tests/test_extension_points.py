"""Each kind of addition touches one new module plus one registry entry.

docs/architecture.md promises that adding an export target, a reliability
coefficient or a CFA estimator is one new module and one line in a registry
(with the import that line needs). These tests hold the promise to account:
each copies the package, makes exactly that change to the copy's *source*,
and checks in a fresh interpreter that the addition reaches everything that
should know of it (the Python API, the command line's choices, the outputs).
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sdt_survey"


def package_with(
    tmp_path: Path, module: tuple[str, str], registry: str, edits: list[tuple[str, str]]
) -> Path:
    """A copy of the package with one new module and ``edits`` to one registry file; the copy's root."""
    root = tmp_path / "src"
    shutil.copytree(PACKAGE, root / "sdt_survey", ignore=shutil.ignore_patterns("__pycache__"))
    new_path, text = module
    target = root / "sdt_survey" / new_path
    assert not target.exists(), f"{new_path} already exists"
    target.write_text(textwrap.dedent(text), encoding="utf-8")
    path = root / "sdt_survey" / registry
    source = path.read_text(encoding="utf-8")
    added = 0
    for old, new in edits:
        assert source.count(old) == 1, f"{registry}: the anchor {old!r} is not unique"
        diff = list(difflib.ndiff(old.splitlines(), new.splitlines()))
        assert not [d for d in diff if d.startswith("- ")], "an edit only adds lines"
        added += sum(d.startswith("+ ") for d in diff)
        source = source.replace(old, new)
    assert added <= 2, "more than the registry line and its import"
    path.write_text(source, encoding="utf-8")
    return root


def run_in(root: Path, code: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=env, cwd=root, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


PLAINTEXT = '''
    """Plain text: one line per item, for a platform that takes a list of questions."""

    from pathlib import Path

    from ..files import write_text
    from .result import ExportResult
    from .survey import Survey


    def write(survey: Survey, out: Path, *, overwrite: bool = False) -> ExportResult:
        lines = [item.id for section in survey.sections for item in section.items]
        write_text(out, "\\n".join(lines) + "\\n", overwrite=overwrite)
        return ExportResult(target="plaintext", paths=[out], survey=survey.id)
'''


def test_an_export_target_is_one_module_and_one_registry_line(tmp_path):
    anchor = '    Platform("spss", "SPSS/Stata data files", None),\n'
    line = '    Platform("plaintext", "text", "plaintext", (Target("plaintext", "a .txt file", ".txt"),)),\n'
    root = package_with(
        tmp_path, ("platforms/plaintext.py", PLAINTEXT), "platforms/__init__.py", [(anchor, anchor + line)]
    )
    seen = run_in(
        root,
        f"""
        import json, sdt_survey
        from sdt_survey.platforms import TARGETS
        from sdt_survey.instrument import ALIAS_TARGETS
        from sdt_survey.cli import cli
        out = {str(tmp_path / "bpn.txt")!r}
        result = sdt_survey.export_survey("bpn-residency", "plaintext", out)
        to = next(p for p in cli.commands["export"].params if p.name == "target")
        print(json.dumps({{
            "targets": list(TARGETS), "choices": list(to.type.choices), "aliases": sorted(ALIAS_TARGETS),
            "lines": open(out).read().split(), "paths": [str(p) for p in result.paths],
        }}))
        """,
    )
    assert "plaintext" in seen["targets"] and "plaintext" in seen["choices"]
    assert "plaintext" in seen["aliases"]
    assert len(seen["lines"]) == 24 and seen["lines"][0] == "as1"


LAMBDA2 = '''
    """Guttman's lambda 2 (an example coefficient for the extension test)."""

    import numpy as np

    from .coefficient import Coefficient


    def lambda2(items):
        c = np.cov(items.dropna().to_numpy(dtype=float), rowvar=False)
        k, total = c.shape[0], c.sum()
        off = c - np.diag(np.diag(c))
        return float((off.sum() + np.sqrt(k / (k - 1) * (off**2).sum())) / total)


    LAMBDA2 = Coefficient(
        key="lambda2",
        title="Guttman's lambda 2",
        compute=lambda items, options: lambda2(items),
        to_dict=lambda value: {"lambda2": value},
        columns=lambda value: {"lambda2": value},
        describe=lambda value: f"lambda2 {value:.3f}",
    )
'''


def test_a_reliability_coefficient_is_one_module_and_one_registry_line(tmp_path):
    root = package_with(
        tmp_path,
        ("reliability/guttman2.py", LAMBDA2),
        "reliability/table.py",
        [
            (
                "from .ordinal import ORDINAL\n",
                "from .ordinal import ORDINAL\nfrom .guttman2 import LAMBDA2\n",
            ),
            ("    ORDINAL,\n)", "    ORDINAL,\n    LAMBDA2,\n)"),
        ],
    )
    seen = run_in(
        root,
        """
        import json
        import numpy as np, pandas as pd
        from sdt_survey.reliability import reliability_table
        rng = np.random.default_rng(3)
        f = rng.normal(size=(200, 1))
        items = pd.DataFrame(np.clip(np.round(3 + f + rng.normal(size=(200, 4))), 1, 5),
                             columns=["a1", "a2", "a3", "a4"])
        report = reliability_table(items, {"a": ["a1", "a2", "a3", "a4"]})
        data = report.to_dict()
        print(json.dumps({"dict": data.get("lambda2"), "frame": list(report.to_frame().columns),
                          "summary": "Guttman's lambda 2" in report.summary()}))
        """,
    )
    assert 0.5 < seen["dict"]["a"]["lambda2"] < 1
    assert "lambda2" in seen["frame"] and seen["summary"]


ML_HUBER_WHITE = '''
    """ML with Huber-White (sandwich) standard errors and the standard test: lavaan's
    ``estimator = "ML", se = "robust.huber.white"`` (an example estimator for the extension test)."""

    from .estimator import Estimator
    from .vcov import sandwich_vcov

    MLHW = Estimator(
        name="MLHW",
        data="continuous",
        objective="ML",
        information="observed",
        standard_errors="robust.huber.white",
        test="standard",
        se_label="Robust.huber.white",
        covariance=sandwich_vcov,
    )
'''


def test_a_cfa_estimator_is_one_module_and_one_registry_line(tmp_path):
    root = package_with(
        tmp_path,
        ("factor/sem/mlhw.py", ML_HUBER_WHITE),
        "factor/sem/estimators.py",
        [
            ("from .estimator import ROBUST_FIT_KEYS, Estimator\n",
             "from .estimator import ROBUST_FIT_KEYS, Estimator\nfrom .mlhw import MLHW\n"),
            ('    "WLSMV": WLSMV,\n', '    "WLSMV": WLSMV,\n    "MLHW": MLHW,\n'),
        ],
    )  # fmt: skip
    seen = run_in(
        root,
        """
        import json
        import numpy as np, pandas as pd
        from sdt_survey.factor import cfa
        from sdt_survey.cli import cli
        rng = np.random.default_rng(5)
        f = rng.normal(size=(400, 1))
        data = pd.DataFrame(f * [0.8, 0.7, 0.6, 0.7] + rng.standard_t(5, size=(400, 4)) * 0.6,
                            columns=["a", "b", "c", "d"])
        fits = {e: cfa(data, "F =~ a + b + c + d", estimator=e) for e in ("ML", "MLR", "MLHW")}
        se = {e: fits[e].parameters["se"].tolist() for e in fits}
        option = next(p for p in cli.commands["cfa"].params if p.name == "estimator")
        print(json.dumps({
            "se": se, "chisq": {e: fits[e].fit.chisq for e in fits},
            "summary": "Robust.huber.white" in fits["MLHW"].summary(),
            "choices": list(option.type.choices),
        }))
        """,
    )
    assert "MLHW" in seen["choices"] and seen["summary"]
    # Its standard errors are MLR's (the same sandwich), its test is ML's (no scaling).
    np.testing.assert_allclose(seen["se"]["MLHW"], seen["se"]["MLR"], rtol=1e-10)
    assert not np.allclose(seen["se"]["MLHW"], seen["se"]["ML"], rtol=1e-3, equal_nan=True)
    assert seen["chisq"]["MLHW"] == pytest.approx(seen["chisq"]["ML"], rel=1e-12)
