"""Compiled kernels (numba) for the per-batch paths where numpy's per-call cost or memory traffic
dominates: tree traversal, and small-batch feature steps.

numba is a dependency of the package (it ships binary wheels, so no compiler is needed on the
machine); what is compiled is chosen per model when its ops are decoded, and each kernel is compiled
(or loaded from numba's on-disk cache) while the bundle loads, never on the first batch. Compiled
code is cached in ``NUMBA_CACHE_DIR`` if set, else beside this package when writable, else in
numba's per-user cache; a read-only cluster image only costs the compile time again on each load.
See bench/RESULTS.md for the measured reasons and costs.
"""

from __future__ import annotations

from typing import Any, Callable

from flink_ml_udf.errors import BundleError


def _import_numba() -> Any:
    """``import numba``, also where the host process has replaced ``print``.

    numba registers the builtins it types, checking that ``builtins.print`` is found under its own
    module and name; a host that wraps ``print`` in a method of its own (PyFlink's Beam worker on
    a cluster does, to route prints to its log) makes that import fail. A stand-in that names
    itself ``builtins.print`` serves for the import, then the host's ``print`` is put back.
    """
    import builtins

    host_print = builtins.print
    if getattr(host_print, "__module__", "builtins") == "builtins":
        import numba

        return numba

    def print(*args: Any, **kwargs: Any) -> None:
        host_print(*args, **kwargs)

    print.__module__ = "builtins"
    builtins.print = print
    try:
        import numba
    finally:
        builtins.print = host_print
    return numba


try:
    _numba = _import_numba()
except Exception as exc:  # ImportError, or a broken llvmlite install raising OSError
    _numba = None
    _NUMBA_ERROR: Exception = exc
else:
    _NUMBA_ERROR = RuntimeError("unreachable")


def available() -> bool:
    """Whether numba imported (models that need a kernel refuse to load without it)."""
    return _numba is not None


def jit(function: Callable[..., Any]) -> Callable[..., Any]:
    """``numba.njit`` with the options every kernel here uses (cached, GIL released); a plain
    Python function when numba is missing, so that importing the runtime never fails. Loading a
    model that needs a kernel calls :func:`warm`, which turns the missing numba into a clear error."""
    if _numba is None:
        return function
    return _numba.njit(cache=True, nogil=True)(function)


def inline(function: Callable[..., Any]) -> Callable[..., Any]:
    """A helper of kernels, inlined into each caller at compile time: a call per step of a hot
    loop would otherwise keep the loop's state in memory (measured: 30% slower tree walks)."""
    if _numba is None:
        return function
    return _numba.njit(cache=True, nogil=True, inline="always")(function)


def warm(who: str, kernel: Callable[..., Any], *example: Any) -> None:
    """Compile ``kernel`` for the argument types of ``example`` (or load it from the cache) at load
    time, turning a missing numba or a compile failure into a :class:`BundleError` naming ``who``."""
    if _numba is None:
        hint = "; install it with 'pip install numba'" if isinstance(_NUMBA_ERROR, ModuleNotFoundError) else ""
        raise BundleError(
            f"{who}: compiled kernels need the 'numba' package, which cannot be imported "
            f"({type(_NUMBA_ERROR).__name__}: {_NUMBA_ERROR}){hint}"
        )
    try:
        kernel(*example)
    except Exception as exc:
        raise BundleError(
            f"{who}: compiling kernel {getattr(kernel, '__name__', kernel)!r} with numba "
            f"{_numba.__version__} failed ({type(exc).__name__}: {exc})"
        ) from exc
