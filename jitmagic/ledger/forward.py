"""The hot-path forwarder behind every tracked function.

A cache hit must cost (almost) nothing beyond the jitted call, so the per-call
work is: read the dispatch-cache size, forward the call, count it, read the size
again. Everything expensive (signatures, miss reasons, timings) happens in
``on_miss``, which runs only when the cache size changed.

``Forwarder`` is the C type from ``jitmagic.ledger._fastcall`` when the extension is
built (``pip install .`` / ``pip install -e .``), else ``PyForwarder``, a
pure-Python class with the same behaviour; ``HAVE_C`` says which one you got.
Subclass it to add attributes, but do not override ``__call__``: the C call slot
is what makes it fast.

Contract (both classes)::

    Forwarder(jitted, cache_size, on_miss, on_error, on_hit=None)
    __call__(*args, **kwargs):
        n = cache_size()
        out = jitted(*args, **kwargs)
        on an ``Exception`` exc: r = on_error(exc, args, kwargs); raise r if r is
            not None (its __context__ becomes exc), else re-raise exc unchanged.
            (KeyboardInterrupt, SystemExit and other BaseExceptions bypass on_error.)
        calls += 1                      # successful calls only; exact across threads
        if cache_size is None or cache_size() != n: on_miss(args, kwargs)
        elif on_hit and the hit is watched: on_hit(args, kwargs)
        return out

    watch_hits(count, every=0): the next ``count`` hits are watched, and so is every hit
        whose call count is a multiple of ``every`` (0 or a power of two). Off by default,
        so a plain hit pays two integer tests (what catches a static mutated in place
        between hits, see ``jitmagic.diagnose.stale``, costs nothing when unused).

``args`` is a tuple and ``kwargs`` a (possibly empty) dict. An exception raised
by ``cache_size`` or ``on_miss`` propagates to the caller. ``__init__`` runs once
(a second call raises ``TypeError``): the C type reads its callables without a lock,
which is what lets it declare that it does not need the GIL on free-threaded CPython.

A missing C extension is never silent: importing this module warns once
(``RuntimeWarning``), and ``jitmagic.info()`` names the forwarder in use.
"""

from __future__ import annotations

import itertools
import types
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

__all__ = ["EXTRA_FRAMES", "HAVE_C", "MISSING_C", "Forwarder", "PyForwarder"]

MISSING_C = (
    "jitmagic's C hit-path forwarder (jitmagic.ledger._fastcall) is not built, so each call "
    "of a tracked function costs about 1.1-1.2x a bare jax.jit call instead of about 1.02x. "
    "To fix: install a C compiler and the Python headers (Debian: apt-get install gcc "
    "python3-dev), then reinstall jitmagic (pip install --force-reinstall --no-deps jitmagic, "
    "or `python3 setup.py build_ext --inplace` in a checkout). jitmagic.info() shows which "
    "forwarder runs."
)

CacheSize = Callable[[], int]
OnMiss = Callable[[tuple[Any, ...], dict[str, Any]], object]
OnError = Callable[[Exception, tuple[Any, ...], dict[str, Any]], "BaseException | None"]


def _uninitialised(*args: Any, **kwargs: Any) -> Any:
    raise TypeError("Forwarder.__init__() was not called")


def _no_replacement(*args: Any) -> None:
    return None


class PyForwarder:
    """Pure-Python twin of the C ``Forwarder``, used when the extension is absent."""

    # Class-level defaults so a subclass that skips __init__ fails like the C type.
    _fw_jitted: Callable[..., Any] = staticmethod(_uninitialised)
    _fw_cache_size: CacheSize | None = None
    _fw_on_error: OnError = staticmethod(_no_replacement)
    _fw_on_hit: OnMiss | None = None
    _fw_watch = 0
    _fw_mask = 0

    def __init__(
        self,
        jitted: Callable[..., Any],
        cache_size: CacheSize | None,
        on_miss: OnMiss,
        on_error: OnError,
        on_hit: OnMiss | None = None,
    ) -> None:
        if "_fw_jitted" in vars(self):  # as the C type: the callables are written once
            raise TypeError("Forwarder.__init__() was already called")
        for name, value in (("jitted", jitted), ("on_miss", on_miss), ("on_error", on_error)):
            if not callable(value):
                raise TypeError(f"Forwarder() argument {name!r} must be callable")
        for name, maybe in (("cache_size", cache_size), ("on_hit", on_hit)):
            if maybe is not None and not callable(maybe):
                raise TypeError(f"Forwarder() argument {name!r} must be callable or None")
        self._fw_jitted = jitted
        self._fw_cache_size = cache_size
        self._fw_on_miss = on_miss
        self._fw_on_error = on_error
        self._fw_on_hit = on_hit
        # next() on an itertools.count is one C call, so it is atomic under the GIL;
        # `self.n += 1` is not (threads interleave between load and store).
        self._fw_counter = itertools.count()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        cache_size = self._fw_cache_size
        before = cache_size() if cache_size is not None else 0
        try:
            out = self._fw_jitted(*args, **kwargs)
        except Exception as exc:
            replacement = self._fw_on_error(exc, args, kwargs)
            if replacement is None:
                raise
            if not isinstance(replacement, BaseException):
                raise TypeError(  # noqa: B904 - __context__ = exc, as in the C type
                    "on_error must return None or an exception instance, "
                    f"not {type(replacement).__name__}"
                )
            raise replacement  # noqa: B904 - __context__ = exc, as in the C type
        calls = next(self._fw_counter) + 1
        if cache_size is None or cache_size() != before:
            self._fw_on_miss(args, kwargs)
        elif self._fw_on_hit is not None and self._watched_hit(calls):
            self._fw_on_hit(args, kwargs)
        return out

    def _watched_hit(self, calls: int) -> bool:
        if self._fw_watch > 0:
            self._fw_watch -= 1
            return True
        return self._fw_mask != 0 and calls & self._fw_mask == 0

    def watch_hits(self, count: int, every: int = 0) -> None:
        """Call ``on_hit`` on the next ``count`` hits and on every ``every``-th call."""
        if count < 0 or every < 0 or every & (every - 1):
            raise ValueError("watch_hits(count, every): count >= 0, every 0 or a power of two")
        self._fw_watch, self._fw_mask = count, max(every - 1, 0)

    @property
    def watching(self) -> tuple[int, int]:
        """(hits still watched, sampling interval) as set by ``watch_hits``."""
        return self._fw_watch, self._fw_mask + 1 if self._fw_mask else 0

    def __get__(self, obj: object, objtype: type | None = None) -> Any:
        """Bind like a function (and like ``jax.jit`` objects) when stored on a class."""
        if obj is None:
            return self
        return types.MethodType(self, obj)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._fw_jitted!r}, calls={self.calls}>"

    @property
    def calls(self) -> int:
        """Number of successful calls since creation or ``reset_calls()``."""
        # repr(count(n)) == "count(n)": the only public way to read it without advancing.
        return int(repr(self._fw_counter)[6:-1])

    def reset_calls(self) -> None:
        """Set the call counter back to zero."""
        self._fw_counter = itertools.count()

    @property
    def jitted(self) -> Callable[..., Any]:
        """The wrapped callable."""
        return self._fw_jitted

    @property
    def cache_size(self) -> CacheSize | None:
        """Zero-argument callable returning the dispatch-cache size, or None."""
        return self._fw_cache_size

    @property
    def on_miss(self) -> OnMiss:
        """Called as ``on_miss(args, kwargs)`` after a call that grew the cache."""
        return self._fw_on_miss

    @property
    def on_hit(self) -> OnMiss | None:
        """Called as ``on_hit(args, kwargs)`` on a watched hit, or None."""
        return self._fw_on_hit

    @property
    def on_error(self) -> OnError:
        """Called as ``on_error(exc, args, kwargs)``; may return an exception to raise."""
        return self._fw_on_error


def _load_c() -> type[_fastcall.Forwarder] | None:
    """The C type, or None (and one RuntimeWarning saying what that costs)."""
    try:
        from jitmagic.ledger._fastcall import Forwarder as c_type
    except ImportError:  # no compiler at install time: same behaviour, slower hot path
        warnings.warn(MISSING_C, RuntimeWarning, stacklevel=2)
        return None
    return c_type


_CForwarder = _load_c()

HAVE_C: bool = _CForwarder is not None
# Python frames the default Forwarder adds between the caller and on_miss/on_error
# (the fallback's __call__): add it to warnings' stacklevel to point at the caller.
EXTRA_FRAMES: int = 0 if HAVE_C else 1
if TYPE_CHECKING:  # both classes share PyForwarder's interface (see _fastcall.pyi)
    from jitmagic.ledger import _fastcall

    Forwarder = PyForwarder
else:
    Forwarder = _CForwarder if _CForwarder is not None else PyForwarder
