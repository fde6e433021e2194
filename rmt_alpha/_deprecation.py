"""Deprecated names of a module: each old name still resolves, for one release, to its new one with a
`DeprecationWarning` that names the replacement (PEP 562's module `__getattr__`)."""

from __future__ import annotations

import warnings


def deprecated_aliases(module: str, aliases: dict, namespace: dict):
    """A module `__getattr__` resolving each old name in `aliases` ({old: new}) to `namespace[new]`, with a warning.

    Args:
        module: the module's `__name__` (for the messages).
        aliases: {deprecated name: current name}.
        namespace: the module's `globals()`, where the current names live.
    Returns:
        the function to assign to the module's `__getattr__`.

    Example:
        >>> import math
        >>> from rmt_alpha._deprecation import deprecated_aliases
        >>> getattr_ = deprecated_aliases("math", {"tau_": "tau"}, vars(math))
        >>> import warnings
        >>> with warnings.catch_warnings(record=True):
        ...     round(getattr_("tau_"), 4)
        6.2832
    """

    def __getattr__(name):
        if name in aliases:
            warnings.warn(f"{module}.{name} is deprecated: use {module}.{aliases[name]}", DeprecationWarning,
                          stacklevel=2)
            return namespace[aliases[name]]
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
