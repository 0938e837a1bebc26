"""The README documents every flag of every magic (kept in sync with magic_arguments)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jitmagic.notebook.magics import JitMagics

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


@pytest.mark.parametrize("magic", ["jit", "jitcell", "jaxpr", "jitstats"])
def test_every_flag_is_in_the_readme(magic):
    parser = getattr(JitMagics, magic).parser  # built by @magic_arguments
    flags = [opt for action in parser._actions for opt in action.option_strings
             if opt.startswith("--") and opt != "--help"]
    assert flags, magic
    prefix = "%%" if magic == "jitcell" else "%"
    section = README.split(f"### `{prefix}{magic}")[1].split("\n### ")[0]
    missing = [flag for flag in flags if f"`{flag}" not in section]
    assert not missing, f"%{magic}: flags missing from README: {missing}"
