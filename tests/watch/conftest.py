"""Shared fixtures of the compile-watch tests."""

from __future__ import annotations

import pytest
from jax import monitoring

from jitmagic.ledger.events import COMPILE


@pytest.fixture
def jax_compiles():
    """Every backend compile JAX reports (`jit(name)`), straight from `jax.monitoring`."""
    seen: list[str] = []

    def listener(event: str, seconds: float, **kwargs: object) -> None:
        if event == COMPILE:
            seen.append(str(kwargs.get("fun_name")))

    monitoring.register_event_duration_secs_listener(listener)
    yield seen
    monitoring.unregister_event_duration_listener(listener)

