"""Settings for every test and doctest: each gets a release ledger of its own.

The release ledger (sdt_survey.ledger) records what cohort tables and reports
release, in the user's data folder by default; tests must neither read a
developer's real ledger nor leave entries in it, nor see each other's releases.
"""

import pytest


@pytest.fixture(autouse=True)
def _own_release_ledger(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("SDT_SURVEY_LEDGER", str(tmp_path_factory.mktemp("ledger") / "release-ledger.json"))
