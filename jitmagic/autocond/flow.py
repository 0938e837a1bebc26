"""Plain-`ast` data-flow facts `--autocond` needs: which names a block binds, reads, keeps live.

Deliberately conservative (nested scopes count as reads, loops bind nothing for
certain): a name carried needlessly costs an operand, a name missed is a wrong result.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.ListComp,
          ast.SetComp, ast.DictComp, ast.GeneratorExp)
LOOPS = (ast.For, ast.AsyncFor, ast.While)


def walk(nodes: Iterable[ast.AST], into_scopes: bool = False) -> Iterable[ast.AST]:
    """Nodes under `nodes`, not entering nested scopes (def, lambda, comprehension) unless asked."""
    stack = list(nodes)[::-1]
    while stack:
        node = stack.pop()
        yield node
        if into_scopes or not isinstance(node, SCOPES):
            stack.extend(reversed(list(ast.iter_child_nodes(node))))


def stores(nodes: Iterable[ast.AST]) -> dict[str, None]:
    """Names bound in this scope by `nodes`, in order of first binding."""
    out: dict[str, None] = {}
    for node in walk(nodes):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            out[node.id] = None
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out[node.name] = None
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                out[(alias.asname or alias.name).split(".")[0]] = None
        elif isinstance(node, ast.ExceptHandler) and node.name:
            out[node.name] = None
    return out


def loads(nodes: Iterable[ast.AST]) -> set[str]:
    """Names read anywhere under `nodes`, nested scopes included (conservative)."""
    out = {n.id for n in walk(nodes, True) if isinstance(n, ast.Name)
           and isinstance(n.ctx, (ast.Load, ast.Del))}
    out |= {n.target.id for n in walk(nodes, True)
            if isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name)}
    return out


def definite(stmts: list[ast.stmt]) -> set[str]:
    """Names certainly bound after `stmts` run to their end."""
    out: set[str] = set()
    for s in stmts:
        if isinstance(s, ast.If):
            out |= set(stores([s.test])) | (definite(s.body) & definite(s.orelse))
        elif isinstance(s, (*LOOPS, ast.Try)):
            pass
        elif isinstance(s, (ast.With, ast.AsyncWith)):
            out |= set(stores(s.items)) | definite(s.body)
        else:
            out |= set(stores([s]))
    return out


def read_first(stmts: list[ast.stmt]) -> set[str]:
    """Names `stmts` may read before binding them (upward-exposed uses)."""
    exposed: set[str] = set()
    bound: set[str] = set()
    for s in stmts:
        if isinstance(s, ast.If):
            exposed |= (loads([s.test]) | read_first(s.body) | read_first(s.orelse)) - bound
        elif isinstance(s, ast.For):  # the body reads the loop variable the loop just bound
            exposed |= (loads([s.iter]) | (read_first(s.body) - set(stores([s.target])))
                        | read_first(s.orelse)) - bound
        elif isinstance(s, (ast.Assign, ast.AnnAssign)) and s.value is not None:
            exposed |= (loads([s.value]) | loads(s.targets if isinstance(s, ast.Assign)
                                                    else [s.target])) - bound
        else:
            exposed |= loads([s]) - bound
        bound |= definite([s])
    return exposed


def live_before(stmts: list[ast.stmt], live: set[str]) -> set[str]:
    """Names whose current value `stmts` (then `live`) may still read."""
    live = set(live)
    for s in reversed(stmts):
        if isinstance(s, ast.If):
            live = loads([s.test]) | live_before(s.body, live) | live_before(s.orelse, live)
        elif isinstance(s, ast.Return):
            live = loads([s])
        elif isinstance(s, ast.For):
            live |= (loads([s.iter]) | (loads(s.body) - set(stores([s.target])))
                     | loads(s.orelse))
        elif isinstance(s, (ast.Assign, ast.AnnAssign)) and s.value is not None:
            targets = s.targets if isinstance(s, ast.Assign) else [s.target]
            plain = {t.id for t in targets if isinstance(t, ast.Name)}
            live = (live - plain) | loads([s])
        else:
            live |= loads([s])
    return live


def always_exits(stmts: list[ast.stmt]) -> bool:
    if not stmts:
        return False
    last = stmts[-1]
    if isinstance(last, ast.If):
        return always_exits(last.body) and always_exits(last.orelse)
    return isinstance(last, (ast.Return, ast.Raise))


def has_return(stmts: list[ast.stmt]) -> bool:
    return any(isinstance(n, ast.Return) for n in walk(stmts))


def blocker(stmts: list[ast.stmt]) -> str | None:
    """Why these branch statements cannot move into a branch function, if they cannot."""
    for stop in loose_jumps(stmts):
        kind = "break" if isinstance(stop, ast.Break) else "continue"
        return f"a branch uses `{kind}` (line {stop.lineno}), which cannot leave a lax.cond branch"
    for node in walk(stmts):
        if isinstance(node, (ast.Yield, ast.YieldFrom, ast.Await)):
            kind = {ast.Yield: "yield", ast.YieldFrom: "yield from"}.get(type(node), "await")
            return f"a branch uses `{kind}` (line {node.lineno}), which lax.cond cannot trace"
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            return f"a branch declares `{', '.join(node.names)}` global/nonlocal"
    return None


def loose_jumps(nodes: Iterable[ast.AST]) -> Iterable[ast.Break | ast.Continue]:
    """break/continue statements that would leave `nodes` (not inside a loop in them)."""
    for node in nodes:
        if isinstance(node, (ast.Break, ast.Continue)):
            yield node
        elif isinstance(node, LOOPS):
            yield from loose_jumps(node.orelse)
        elif not isinstance(node, SCOPES):
            yield from loose_jumps(ast.iter_child_nodes(node))


def loop_blocker(body: list[ast.stmt], kind: str) -> str | None:
    """Why a loop body cannot become the body function of `kind` (a lax loop), if it cannot."""
    for stop in loose_jumps(body):
        jump = "break" if isinstance(stop, ast.Break) else "continue"
        return f"the loop uses `{jump}` (line {stop.lineno}), which {kind} cannot express"
    for node in walk(body):
        if isinstance(node, ast.Return):
            return f"the loop returns from inside (line {node.lineno}), which {kind} cannot express"
        if isinstance(node, (ast.Yield, ast.YieldFrom, ast.Await)):
            word = {ast.Yield: "yield", ast.YieldFrom: "yield from"}.get(type(node), "await")
            return f"the loop uses `{word}` (line {node.lineno}), which {kind} cannot trace"
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            return f"the loop declares `{', '.join(node.names)}` global/nonlocal"
    return None
