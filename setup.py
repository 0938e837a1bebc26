"""Build hook for the optional C forwarder; all other metadata lives in pyproject.toml.

``jitmagic.ledger._fastcall`` speeds up the cache-hit path. It is ``optional``: when no C
compiler works, setuptools warns instead of failing the install, and
``jitmagic.ledger.forward`` falls back to a pure-Python class with the same behaviour.
"""

from __future__ import annotations

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("jitmagic.ledger._fastcall", ["jitmagic/ledger/_fastcall.c"], optional=True),
    ],
)
