"""In the hub's Python: print True when class argv[1] is class argv[2] or built on it (dotted names)."""
import importlib
import sys


def resolve(dotted: str) -> type:
    module, name = dotted.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


print(issubclass(resolve(sys.argv[1]), resolve(sys.argv[2])))
