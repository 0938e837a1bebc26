"""Shared fixtures: a real IPython shell with jitmagic loaded, fresh for every test."""

from __future__ import annotations

import pytest
from IPython.testing import globalipapp

from jitmagic.ledger import events


@pytest.fixture(autouse=True)
def _fresh_listeners():
    """Each test starts as a fresh process would: listeners not suspended by an earlier
    test's `%unload_ext` (the first tracked function installs them)."""
    events.reset()


@pytest.fixture
def ip():
    shell = globalipapp.get_ipython()  # (a stale import of get_ipython returns None)
    shell.reset(new_session=False)
    shell.run_line_magic("load_ext", "jitmagic")
    yield shell
    if "jitmagic" in shell.extension_manager.loaded:
        shell.run_line_magic("unload_ext", "jitmagic")
    shell.reset(new_session=False)
