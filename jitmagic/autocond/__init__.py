"""`--autocond`: Python `if`/`while`/`for` on traced values rewritten into `jax.lax`.

Owns: the AST rewrite (rewrite.py for conditions, loopwrite.py for loops, with flow.py
for data-flow facts and nodes.py for node builders) and the runtime helpers rewritten
code calls (runtime.py, loops.py). Rewritten code imports this package as `_jm`, so the
helpers are re-exported here.

May import: jax, numpy and the standard library. Nothing else of jitmagic.

Package API: `autocond` (the one entry point the rest of jitmagic uses),
`rewrite_source`, `rewrite_module`, `AutocondError`; the `_jm.*` runtime helpers.
"""

from jitmagic.autocond.api import AutocondError as AutocondError
from jitmagic.autocond.api import Undefined as Undefined
from jitmagic.autocond.api import and_ as and_
from jitmagic.autocond.api import autocond as autocond
from jitmagic.autocond.api import cond as cond
from jitmagic.autocond.api import fori_loop as fori_loop
from jitmagic.autocond.api import is_undefined as is_undefined
from jitmagic.autocond.api import lookup as lookup
from jitmagic.autocond.api import not_ as not_
from jitmagic.autocond.api import or_ as or_
from jitmagic.autocond.api import rewrite_module as rewrite_module
from jitmagic.autocond.api import rewrite_source as rewrite_source
from jitmagic.autocond.api import static_only as static_only
from jitmagic.autocond.api import static_range as static_range
from jitmagic.autocond.api import while_loop as while_loop
