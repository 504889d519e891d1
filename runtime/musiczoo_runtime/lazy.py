"""A package's public API imported on first use, so importing the package stays light."""

import importlib


def lazy_api(package, api, namespace):
    """The module-level `__getattr__` and `__dir__` of a package whose API names load on first access.

    Args:
        package: the package's name, for the error message.
        api: public name -> module that defines it.
        namespace: the package's `globals()`, where a loaded name is kept.

    Returns:
        (`__getattr__`, `__dir__`) to assign in the package's `__init__`.
    """
    def __getattr__(name):
        if name in api:
            value = getattr(importlib.import_module(api[name]), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(set(namespace) | set(api))

    return __getattr__, __dir__
