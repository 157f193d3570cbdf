"""Settings for every test and doctest: each gets a release ledger of its own.

The release ledger (sdt_survey.ledger) records what cohort tables and reports
release, in the user's data folder by default; tests must neither read a
developer's real ledger nor leave entries in it, nor see each other's releases.
Fixtures built once per session or module get a ledger of that scope (autouse
fixtures run before the other fixtures of their scope), each test one of its own.
"""

import pytest


def _own_ledger(factory, name):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SDT_SURVEY_LEDGER", str(factory.mktemp(name) / "release-ledger.json"))
        yield


@pytest.fixture(autouse=True, scope="session")
def _session_ledger(tmp_path_factory):
    yield from _own_ledger(tmp_path_factory, "session-ledger")


@pytest.fixture(autouse=True, scope="module")
def _module_ledger(tmp_path_factory):
    yield from _own_ledger(tmp_path_factory, "module-ledger")


@pytest.fixture(autouse=True)
def _test_ledger(tmp_path_factory):
    yield from _own_ledger(tmp_path_factory, "ledger")


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace):
    """numpy and pandas for doctests: modules import them inside functions (start-up, issue 17)."""
    import numpy as np
    import pandas as pd

    doctest_namespace.update(np=np, pd=pd)
