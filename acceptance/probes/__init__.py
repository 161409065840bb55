"""Scripts the harness runs inside the platform's containers (each a linted file, read and passed to
`python3 -c`): acceptance.probes.source("name") gives one's text."""
from pathlib import Path


def source(name: str) -> str:
    return (Path(__file__).with_name(f"{name}.py")).read_text()
