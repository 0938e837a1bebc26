"""Types of the C forwarder (`_fastcall.c`); `forward.PyForwarder` is its Python twin."""

from collections.abc import Callable
from typing import Any

class Forwarder:
    """Call `jitted`, count successes, call `on_miss` when the cache size changed."""

    def __init__(
        self,
        jitted: Callable[..., Any],
        cache_size: Callable[[], int] | None,
        on_miss: Callable[[tuple[Any, ...], dict[str, Any]], object],
        on_error: Callable[[Exception, tuple[Any, ...], dict[str, Any]], BaseException | None],
    ) -> None: ...
    def __call__(self, *args: Any, **kwargs: Any) -> Any: ...
    def __get__(self, obj: object, objtype: type | None = None) -> Any: ...
    def reset_calls(self) -> None: ...
    @property
    def jitted(self) -> Callable[..., Any]: ...
    @property
    def cache_size(self) -> Callable[[], int] | None: ...
    @property
    def on_miss(self) -> Callable[[tuple[Any, ...], dict[str, Any]], object]: ...
    @property
    def on_error(
        self,
    ) -> Callable[[Exception, tuple[Any, ...], dict[str, Any]], BaseException | None]: ...
    @property
    def calls(self) -> int: ...
