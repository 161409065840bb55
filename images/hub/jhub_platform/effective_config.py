"""The platform's configuration rendered: stack/jupyterhub_config.py evaluated, as plain JSON, for the
Kubernetes values (stack/kubernetes/z2jh_values.py, which carries its settings over) and the harness's unit tests
of the config. The hub itself never uses it, nor do acceptance checks: they observe the running hub."""
from __future__ import annotations


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
