"""The hot-path forwarder: C type and pure-Python fallback must behave the same."""

from __future__ import annotations

import gc
import subprocess
import sys
import sysconfig
import threading
import traceback
import tracemalloc
import weakref
from typing import Any

import jax
import jax.numpy as jnp
import pytest

from jitmagic.ledger import forward as _forward
from jitmagic.ledger.forward import PyForwarder

HAVE_VECTORCALL = 1 << 11  # Py_TPFLAGS_HAVE_VECTORCALL


def _subclass(base: type) -> type:
    class Tracked(base):  # the lead's TrackedFunction shape: attributes, no __call__
        label = "tracked"

        @property
        def doubled_calls(self) -> int:
            return 2 * self.calls

    return Tracked


_C = _forward._CForwarder
_needs_c = pytest.mark.skipif(_C is None, reason="jitmagic.ledger._fastcall not built")
CLASSES = [
    pytest.param(_C, id="C", marks=_needs_c),
    pytest.param(_subclass(_C) if _C else None, id="C-subclass", marks=_needs_c),
    pytest.param(PyForwarder, id="Python"),
    pytest.param(_subclass(PyForwarder), id="Python-subclass"),
]


@pytest.fixture(params=CLASSES)
def cls(request: pytest.FixtureRequest) -> type:
    return request.param


class Recorder:
    """on_miss / on_error callbacks that remember what they were given."""

    def __init__(self, replacement: BaseException | None = None) -> None:
        self.misses: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        self.errors: list[tuple[Exception, tuple[Any, ...], dict[str, Any]]] = []
        self.replacement = replacement

    def on_miss(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.misses.append((args, kwargs))

    def on_error(self, exc: Exception, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        self.errors.append((exc, args, kwargs))
        if self.replacement is not None:
            self.replacement.__cause__ = exc
        return self.replacement


def _traced(static: tuple[str, ...] = ()) -> tuple[Any, list[int]]:
    """A fresh jax.jit function whose body counts its own executions (traces)."""
    traces = [0]

    def body(x: Any, k: Any = 1.0) -> Any:
        traces[0] += 1
        return x * k

    return jax.jit(body, static_argnames=static), traces


def _make(cls: type, jitted: Any, rec: Recorder, *, check: bool = True) -> Any:
    size = jitted._cache_size if check else None
    return cls(jitted, size, rec.on_miss, rec.on_error)


def test_default_forwarder_is_c_when_built() -> None:
    assert _forward.HAVE_C is (_C is not None)
    assert _forward.Forwarder is (_C if _C is not None else PyForwarder)
    assert int(not _forward.HAVE_C) == _forward.EXTRA_FRAMES


def test_callbacks_see_caller_frame_after_extra_frames(cls: type) -> None:
    extra = 0 if _C is not None and issubclass(cls, _C) else 1
    seen: list[str] = []

    def on_miss(args: Any, kwargs: Any) -> None:
        seen.append(sys._getframe(1 + extra).f_code.co_name)

    def on_error(exc: Exception, args: Any, kwargs: Any) -> None:
        seen.append(sys._getframe(1 + extra).f_code.co_name)

    fw = cls(lambda x: 1 // x, None, on_miss, on_error)

    def the_caller(x: int) -> None:
        fw(x)

    the_caller(1)
    with pytest.raises(ZeroDivisionError):
        the_caller(0)
    assert seen == ["the_caller", "the_caller"]


def test_forwards_result_and_counts_calls(cls: type) -> None:
    f, _ = _traced()
    fw = _make(cls, f, Recorder())
    assert float(fw(jnp.array(3.0), k=2.0)) == 6.0
    assert float(fw(jnp.array(4.0), 3.0)) == 12.0
    assert fw.calls == 2
    fw.reset_calls()
    assert fw.calls == 0
    fw(jnp.array(1.0))
    assert fw.calls == 1


def test_counts_exact_across_threads(cls: type) -> None:
    f, traces = _traced()
    rec = Recorder()
    fw = _make(cls, f, rec)
    x = jnp.array(2.0)
    fw(x)
    fw.reset_calls()
    barrier = threading.Barrier(8)

    def work() -> None:
        barrier.wait()
        for _ in range(5_000):
            fw(x)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # force many thread switches mid-call
    try:
        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    assert fw.calls == 40_000
    assert traces[0] == 1
    assert len(rec.misses) == 1


def test_on_miss_exactly_on_real_misses(cls: type) -> None:
    f, traces = _traced(static=("k",))
    rec = Recorder()
    fw = _make(cls, f, rec)
    x3, x4 = jnp.ones(3), jnp.ones(4)
    calls = [
        ((x3,), {"k": 1.0}),  # first call: miss
        ((x3,), {"k": 1.0}),  # hit
        ((x3 + 1,), {"k": 1.0}),  # hit: same shape, new value
        ((x4,), {"k": 1.0}),  # new shape: miss
        ((x4,), {"k": 2.0}),  # new static value: miss
        ((x4,), {"k": 2.0}),  # hit
        ((x4,), {"k": 2}),  # static keyed by type too: miss
        ((x3,), {"k": 1.0}),  # back to the first entry: hit
    ]
    expected: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    for args, kwargs in calls:
        before = traces[0]
        fw(*args, **kwargs)
        if traces[0] != before:
            expected.append((args, kwargs))
        assert len(rec.misses) == len(expected)
    assert traces[0] == 4
    assert len(rec.misses) == 4
    for (got_args, got_kwargs), (args, kwargs) in zip(rec.misses, expected, strict=True):
        assert isinstance(got_args, tuple)
        assert all(a is b for a, b in zip(got_args, args, strict=True))
        assert got_kwargs == kwargs
    assert fw.calls == len(calls)


def test_on_miss_follows_cache_size_not_traces(cls: type) -> None:
    """A Python float after a weak-typed array adds a dispatch entry without a trace."""
    f, traces = _traced()
    rec = Recorder()
    fw = _make(cls, f, rec)
    fw(jnp.array(5.0))
    size = f._cache_size()
    fw(5.0)
    assert traces[0] == 1
    assert len(rec.misses) == 1 + (f._cache_size() - size)


def test_without_cache_size_every_success_is_a_miss(cls: type) -> None:
    def plain(x: int) -> int:
        return 10 // x

    rec = Recorder()
    fw = _make(cls, plain, rec, check=False)
    assert fw.cache_size is None
    assert fw(2) == 5
    assert fw(5) == 2
    with pytest.raises(ZeroDivisionError):
        fw(0)
    assert rec.misses == [((2,), {}), ((5,), {})]
    assert fw.calls == 2


def test_on_error_gets_real_exception_and_original_reraised(cls: type) -> None:
    def body(x: Any, threshold: float) -> Any:
        if x > threshold:  # Python `if` on a tracer
            return x * 2
        return x

    f = jax.jit(body, static_argnames="threshold")
    rec = Recorder()
    fw = _make(cls, f, rec)
    x = jnp.array(5.0)
    with pytest.raises(jax.errors.TracerBoolConversionError) as info:
        fw(x, threshold=0.0)
    [(exc, args, kwargs)] = rec.errors
    assert info.value is exc
    assert args[0] is x
    assert kwargs == {"threshold": 0.0}
    assert fw.calls == 0
    assert rec.misses == []
    # Re-raised unchanged: the traceback still ends in the jitted body's frame.
    names = [fs.name for fs in traceback.extract_tb(info.value.__traceback__)]
    assert "body" in names


def test_returned_exception_is_raised_with_cause(cls: type) -> None:
    def plain(x: Any, **kwargs: Any) -> Any:
        raise ValueError(f"bad {x}")

    replacement = RuntimeError("diagnosed: try --static x")
    rec = Recorder(replacement)
    fw = _make(cls, plain, rec, check=False)
    with pytest.raises(RuntimeError, match="diagnosed") as info:
        fw(3, flag=True)
    original = rec.errors[0][0]
    assert info.value is replacement
    assert isinstance(original, ValueError)
    assert str(original) == "bad 3"
    assert info.value.__cause__ is original
    assert info.value.__context__ is original
    assert rec.errors[0][1:] == ((3,), {"flag": True})


def test_on_error_sees_exception_as_handled(cls: type) -> None:
    seen: list[Any] = []

    def on_error(exc: Exception, args: Any, kwargs: Any) -> None:
        seen.append(sys.exc_info()[1] is exc)

    fw = cls(lambda: 1 / 0, None, lambda a, k: None, on_error)
    with pytest.raises(ZeroDivisionError):
        fw()
    assert seen == [True]


def test_failing_on_error_chains_to_original(cls: type) -> None:
    def on_error(exc: Exception, args: Any, kwargs: Any) -> None:
        raise LookupError("on_error broke")

    fw = cls(lambda: 1 / 0, None, lambda a, k: None, on_error)
    with pytest.raises(LookupError) as info:
        fw()
    assert isinstance(info.value.__context__, ZeroDivisionError)


def test_on_error_must_return_exception_or_none(cls: type) -> None:
    fw = cls(lambda: 1 / 0, None, lambda a, k: None, lambda e, a, k: "oops")
    with pytest.raises(TypeError, match="on_error must return None") as info:
        fw()
    assert isinstance(info.value.__context__, ZeroDivisionError)


def test_base_exceptions_bypass_on_error(cls: type) -> None:
    def interrupted() -> None:
        raise KeyboardInterrupt

    rec = Recorder()
    fw = cls(interrupted, None, rec.on_miss, rec.on_error)
    with pytest.raises(KeyboardInterrupt):
        fw()
    assert rec.errors == []


def test_on_miss_exception_propagates(cls: type) -> None:
    def on_miss(args: Any, kwargs: Any) -> None:
        raise RuntimeError("ledger failed")

    fw = cls(lambda x: x + 1, None, on_miss, lambda e, a, k: None)
    with pytest.raises(RuntimeError, match="ledger failed"):
        fw(1)
    assert fw.calls == 1  # the jitted call itself succeeded


def test_attributes_are_readable_and_read_only(cls: type) -> None:
    f, _ = _traced()
    rec = Recorder()
    size, on_miss, on_error = f._cache_size, rec.on_miss, rec.on_error
    fw = cls(f, size, on_miss, on_error)
    assert fw.jitted is f
    assert fw.cache_size is size
    assert fw.on_miss is on_miss
    assert fw.on_error is on_error
    for name in ("jitted", "cache_size", "on_miss", "on_error", "calls"):
        with pytest.raises(AttributeError):
            setattr(fw, name, None)
    fw.__wrapped__ = f  # instances take extra attributes (functools.wraps, names)
    assert fw.__wrapped__ is f


def test_rejects_non_callables(cls: type) -> None:
    with pytest.raises(TypeError, match="jitted"):
        cls(3, None, print, print)
    with pytest.raises(TypeError, match="cache_size"):
        cls(print, 3, print, print)


def test_binds_as_method(cls: type) -> None:
    rec = Recorder()

    class Model:
        scale = cls(lambda self, x: (self, x * 2), None, rec.on_miss, rec.on_error)

    m = Model()
    assert m.scale(4) == (m, 8)
    assert Model.scale(m, 1) == (m, 2)
    assert rec.misses[0] == ((m, 4), {})


def test_cycle_through_callbacks_is_collected(cls: type) -> None:
    class Owner(cls):
        def __init__(self) -> None:
            super().__init__(lambda: 1, None, self.record, self.fail)

        def record(self, args: Any, kwargs: Any) -> None:
            pass

        def fail(self, exc: Exception, args: Any, kwargs: Any) -> None:
            return None

    fw = Owner()
    assert fw() == 1
    ref = weakref.ref(fw)
    del fw
    gc.collect()
    assert ref() is None


def test_uninitialised_call_raises(cls: type) -> None:
    class Lazy(cls):
        def __init__(self) -> None:
            pass  # forgot super().__init__

    with pytest.raises(TypeError, match="__init__"):
        Lazy()()


def test_refcounts_and_memory_stable_on_hits(cls: type) -> None:
    f, _ = _traced(static=("k",))
    fw = _make(cls, f, Recorder())
    x = jnp.array(3.0)
    for _ in range(1_000):  # warm every cache, allocator pools
        fw(x, k=2.0)
    refs = sys.getrefcount(x)
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        for _ in range(100_000):
            fw(x, k=2.0)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    assert sys.getrefcount(x) == refs
    assert grown < 64 * 1024, f"{grown} bytes retained after 1e5 hits"


def test_refcounts_stable_on_miss_and_error_paths(cls: type) -> None:
    arg, kwval = object(), object()

    def flaky(a: object, *, key: object, fail: bool) -> object:
        if fail:
            raise ValueError("no")
        return a

    fw = cls(flaky, None, lambda a, k: None, lambda e, a, k: None)
    replacing = cls(flaky, None, lambda a, k: None, lambda e, a, k: KeyError("replaced"))
    packed, ok, bad = (arg,), {"key": kwval, "fail": False}, {"key": kwval, "fail": True}
    before = [sys.getrefcount(o) for o in (arg, kwval, packed, ok, bad)]
    nones = sys.getrefcount(None)
    for _ in range(10_000):
        # fw(...) takes the vectorcall slot; fw.__call__(*packed) hands the tp_call slot
        # the caller's own tuple, so a missing incref there shows up in `packed`.
        for call in (fw, fw.__call__):
            assert call(arg, key=kwval, fail=False) is arg
            assert call(*packed, **ok) is arg
            with pytest.raises(ValueError, match="no"):
                call(*packed, **bad)
        for call in (replacing, replacing.__call__):
            with pytest.raises(KeyError):
                call(*packed, **bad)
    gc.collect()
    assert [sys.getrefcount(o) for o in (arg, kwval, packed, ok, bad)] == before
    assert abs(sys.getrefcount(None) - nones) < 1_000  # a leaked None per call would show


@_needs_c
def test_python_subclass_keeps_vectorcall() -> None:
    sub = _subclass(_C)
    sub(print, None, print, print)
    assert sub.__flags__ & HAVE_VECTORCALL


def test_init_runs_once(cls: type) -> None:
    """The callables are written once (what lets the C type run without the GIL)."""
    fw = cls(lambda x: x + 1, None, lambda a, k: None, lambda e, a, k: None)
    with pytest.raises(TypeError, match="already called"):
        fw.__init__(lambda x: x - 1, None, print, print)
    assert fw(1) == 2
    assert fw.calls == 1


def test_subclass_overriding_call_is_honoured(cls: type) -> None:
    class Custom(cls):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return ("custom", super().__call__(*args, **kwargs))

    fw = Custom(lambda x: x, None, lambda a, k: None, lambda e, a, k: None)
    assert fw(1) == ("custom", 1)
    late = _subclass(cls)
    fw2 = late(lambda x: x, None, lambda a, k: None, lambda e, a, k: None)
    late.__call__ = lambda self, *a: "late"  # assigned after vectorcall was enabled
    assert fw2(1) == "late"


def _run(code: str, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *flags, "-c", code], capture_output=True, text=True,
                          check=False)


def test_fallback_when_extension_missing_warns_once_and_says_so() -> None:
    code = (
        "import sys; sys.modules['jitmagic.ledger._fastcall'] = None\n"
        "import jitmagic\n"
        "from jitmagic.ledger import forward as m\n"
        "assert m.HAVE_C is False and m.Forwarder is m.PyForwarder\n"
        "fw = m.Forwarder(lambda x: x + 1, None, lambda a, k: None, lambda e, a, k: None)\n"
        "assert fw(1) == 2 and fw.calls == 1\n"
        "f = jitmagic.jit(lambda x: x * 2)\n"
        "assert int(f(3)) == 6 and f.stats.calls == 1\n"
        "print(jitmagic.info())\n"
    )
    out = _run(code)
    assert out.returncode == 0, out.stderr
    assert out.stderr.count("RuntimeWarning") == 1, out.stderr
    assert "forwarder (jitmagic.ledger._fastcall) is not built" in out.stderr
    assert "1.1-1.2x a bare jax.jit call" in out.stderr
    assert "hit path: pure Python forwarder" in out.stdout
    assert "apt-get install gcc python3-dev" in out.stdout  # info() says how to fix it too


@_needs_c
def test_built_extension_imports_silently_and_info_says_c() -> None:
    out = _run("import jitmagic; print(jitmagic.info())", "-W", "error::RuntimeWarning")
    assert out.returncode == 0, out.stderr
    assert "hit path: C forwarder" in out.stdout


@_needs_c
@pytest.mark.skipif(not sysconfig.get_config_var("Py_GIL_DISABLED"),
                    reason="needs a free-threaded CPython (3.13t)")
def test_extension_keeps_the_gil_off_on_free_threaded_python() -> None:
    out = _run("import sys, jitmagic.ledger._fastcall; print(sys._is_gil_enabled())")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False", out.stderr
