"""The hub's effective configuration: stack/jupyterhub_config.py evaluated, as plain JSON.

Runs in-process for unit tests and inside the running hub container (as `python3 -c`
with this file's source) for the phase checks, so both read the same way."""
from __future__ import annotations

import json
import sys
from pathlib import Path


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def load_effective_config(directory: str) -> dict:
    """{section: {trait: value}} of jupyterhub_config.py in `directory`, with the current environment."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("jupyterhub_config.py", path=directory).load_config()
    return _plain({section: dict(values) for section, values in config.items()})


def effective_config_in_hub(stack) -> dict:
    """The config the running hub container evaluates (its env, its mounted files)."""
    out = stack.hub_python(Path(__file__).read_text(), "/etc/jupyterhub")
    return json.loads(out)


if __name__ == "__main__":
    print(json.dumps(load_effective_config(sys.argv[1])))
