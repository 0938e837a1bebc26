"""Shared fixtures: a real IPython shell with jitmagic loaded, fresh for every test."""

from __future__ import annotations

import pytest
from IPython.testing import globalipapp


@pytest.fixture
def ip():
    shell = globalipapp.get_ipython()  # (a stale import of get_ipython returns None)
    shell.reset(new_session=False)
    shell.run_line_magic("load_ext", "jitmagic")
    yield shell
    if "jitmagic" in shell.extension_manager.loaded:
        shell.run_line_magic("unload_ext", "jitmagic")
    shell.reset(new_session=False)
