"""The tracked jit and its records: what was called, what compiled, and why.

Owns: `TrackedFunction` (tracked.py) and its hot-path forwarder (forward.py + the C
`_fastcall`), compile-event attribution (events.py), call signatures and miss reasons
(signature.py), the plain frozen records `Stats` / `CacheEntry` / `SourceMap`
(records.py), and every use of private JAX API (jaxcompat.py).

May import: jax, numpy and `jitmagic.errors`. Nothing else of jitmagic: error diagnosis
and post-miss checks are handed in by whoever builds a `TrackedFunction` (see
`jitmagic.api.jit`), and drawing or showing the records is done by `graph` and
`dashboard`, which import this package, never the other way round.

Package API: `TrackedFunction`, `Stats`, `CacheEntry`, `SourceMap`, `tracked_functions`.
"""
