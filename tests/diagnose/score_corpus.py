"""Score the diagnosis on the corpus of public reports: right culprit + right fix / total.

Run from the repository root: ``python3 tests/diagnose/score_corpus.py [-v]``. A case
scores when the culprits match, the fix contains the accepted fix's words, a fix that
must be code was printed as code and runs (executed, see fixrun.py), and the message is
at most 6 lines before JAX's text. Warned cases score when the warning names the mistake;
controls when nothing is raised or warned.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent.parent), str(HERE)]

from corpus_reports import CONTROLS, REPORTS, WARNED, Report, Warned  # noqa: E402
from fixrun import run_printed_fix  # noqa: E402

import jitmagic  # noqa: E402


def score_report(r: Report) -> tuple[bool, str]:
    fn = jitmagic.jit(r.fun, static_argnames=r.static)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn(*r.args, **r.kwargs)
    except Exception as exc:
        d = getattr(exc, "diagnosis", None)
        if d is None:
            return False, f"not diagnosed: {type(exc).__name__}"
        return _judge(r, d)
    return False, "did not fail"


def _judge(r: Report, d: object) -> tuple[bool, str]:
    if set(d.culprits) != set(r.culprits):
        return False, f"culprits {d.culprits} != {r.culprits}"
    shown = f"{d.fix} {getattr(d, 'alternative', '')}"
    missing = [w for w in r.fix_has if w not in shown]
    if missing:
        return False, f"fix {d.fix!r} lacks {missing}"
    if len(d.text.splitlines()) > 6:
        return False, "message longer than 6 lines"
    code = getattr(d, "fix_code", None)
    if r.code:
        if code is None:  # a diagnosis from before fixes were printed as verified code
            return bool(d.verified), "verified" if d.verified else "fix not verified"
        if not code:
            return False, "fix not printed as code"
        try:
            run_printed_fix(r.fun, d, r.args, r.kwargs, r.static)
        except Exception as exc:
            return False, f"printed fix fails: {type(exc).__name__}: {exc}"[:200]
    return True, "ok"


def score_warned(w: Warned) -> tuple[bool, str]:
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        jitmagic.jit(w.fun)(*w.args)
    for item in seen:
        text = str(item.message)
        if item.category.__name__ == w.category and all(s in text for s in w.words):
            return True, "ok"
    return False, f"warnings: {[str(i.message)[:80] for i in seen]}"


def score_control(fun: object, args: tuple, static: tuple[str, ...]) -> tuple[bool, str]:
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            jitmagic.jit(fun, static_argnames=static)(*args)
        except Exception as exc:
            return False, f"raised {type(exc).__name__}"
    ours = [i for i in seen if "jitmagic" in str(i.message)]
    return (not ours), ("ok" if not ours else str(ours[0].message)[:80])


def main() -> int:
    verbose = "-v" in sys.argv
    rows = [(r.id, r.source, *score_report(r)) for r in REPORTS]
    rows += [(w.id, w.source, *score_warned(w)) for w in WARNED]
    controls = [score_control(*c) for c in CONTROLS]
    for name, source, ok, why in rows:
        if verbose or not ok:
            print(f"{'PASS' if ok else 'FAIL'} {name}: {why}  [{source}]")
    good = sum(ok for *_, ok, _ in rows)
    quiet = sum(ok for ok, _ in controls)
    print(f"score: {good}/{len(rows)} right culprit + right fix; "
          f"controls silent: {quiet}/{len(controls)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
