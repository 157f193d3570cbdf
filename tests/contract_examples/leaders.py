"""Contract examples for what leaders read: cohorts, the report, the release-ledger audit, the demo."""

from __future__ import annotations

from pathlib import Path

from sdt_survey.cohorts import cohort_summary
from sdt_survey.cohorts.ledger import AuditResult
from sdt_survey.demo import DemoResult, DemoStage
from sdt_survey.report import build_report
from sdt_survey.simulate import simulate


def _responses():
    return simulate("program-belonging", seed=2, n_programs=2, residents_per_program=(9, 9)).responses


def cohort_report(folder: Path):
    # One wave per file order, a suppressed group, and notes on all of it.
    return cohort_summary(
        "program-belonging", _responses(), id_column="resident", by=["clinic"], invariance=False, ledger=None
    )


def report(folder: Path):
    return build_report("program-belonging", _responses(), id_column="resident", ledger=None)


def audit_result(folder: Path):
    return AuditResult(
        hide={("w", 1, "P1")},
        already_disclosed=1,
        changed=["program=P1"],
        notes=["earlier releases already disclose 1 small group"],
    )


def demo_result(folder: Path):
    # Built directly: running the demo takes a minute.
    return DemoResult(
        out_dir=folder / "demo",
        stages=[DemoStage("score", "scored 40 residents", [folder / "demo" / "scores.csv"], 0.5)],
        notes=["the demo's data are simulated"],
        warnings=["one stage was slow"],
    )


EXAMPLES = {
    "sdt_survey.cohorts.result.CohortReport": cohort_report,
    "sdt_survey.report.result.Report": report,
    "sdt_survey.cohorts.ledger.AuditResult": audit_result,
    "sdt_survey.demo.DemoResult": demo_result,
}
