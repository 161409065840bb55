"""Programs the harness runs inside the platform's containers, each a linted file: Python scripts (name.py, read
and passed to `python3 -c`: source("name") gives one's text) and shell scripts (name.sh, shellcheck-clean, passed
to `sh -c`: shell("name") gives one's text; their #! line is a comment there)."""
from pathlib import Path


def source(name: str) -> str:
    return (Path(__file__).with_name(f"{name}.py")).read_text()


def shell(name: str) -> str:
    return (Path(__file__).with_name(f"{name}.sh")).read_text()
