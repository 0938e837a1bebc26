"""Shared fixtures: a real IPython shell with jitmagic loaded, fresh for every test."""

from __future__ import annotations

import pytest
from IPython.testing.globalipapp import get_ipython


@pytest.fixture
def ip():
    shell = get_ipython()
    shell.reset(new_session=False)
    shell.run_line_magic("load_ext", "jitmagic")
    yield shell
    if "jitmagic" in shell.extension_manager.loaded:
        shell.run_line_magic("unload_ext", "jitmagic")
    shell.reset(new_session=False)
