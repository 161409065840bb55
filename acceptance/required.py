"""The checks the verdict requires: declared in acceptance/expected/required-checks.yaml, not discovered.

A step passes only when every check it requires in the run's mode ran and passed. A required check that was
not collected (its module --ignore'd, the function deleted or renamed, a collection error) leaves its step
INCOMPLETE, named; one deselected on purpose (-m, -k, node ids) makes the run PARTIAL.

The manifest lists each step's checks with the scope markers that decide in which modes it is required
(acceptance/verify.py's `out_of_scope`). Parametrized checks name the expected state's profiles and images
as `{profile}` and `{image}`, so a site's own `--expect` file requires a check per profile it lists.

    python -m acceptance.required --write    # after adding, renaming or removing a check (review the diff)

The unit test acceptance/unit/test_required.py fails while the manifest and the collected checks differ.
"""
from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

MANIFEST = Path(__file__).resolve().parent / "expected" / "required-checks.yaml"
BROWSERS = ("chromium", "firefox", "webkit")
PLACEHOLDERS = ("{profile}", "{image}")


class ManifestError(ValueError):
    """The manifest is malformed."""


@dataclass(frozen=True)
class Required:
    step: str                  # "P1"
    id: str                    # "test_p1_images.py::test_x[{image}]": a template, see PLACEHOLDERS
    markers: frozenset[str]    # the scope markers the check carries (verify.SCOPE_MARKERS)


def check_id(nodeid: str) -> str:
    """A check's id: its module file and name, without the browser parameter pytest-playwright adds.

    acceptance/tests/test_r1_bad_input.py::test_x[chromium-short password]
    -> test_r1_bad_input.py::test_x[short password]
    """
    path, _, name = nodeid.partition("::")
    m = re.fullmatch(r"(?P<fn>[^\[]+)(?:\[(?P<params>.*)\])?", name, re.S)
    fn, params = (m["fn"], m["params"]) if m else (name, None)
    if params is not None:
        for browser in BROWSERS:
            if params == browser:
                params = None
                break
            if params.startswith(f"{browser}-"):
                params = params[len(browser) + 1:]
                break
            if params.endswith(f"-{browser}"):
                params = params[: -len(browser) - 1]
                break
    return f"{Path(path).name}::{fn}" + (f"[{params}]" if params is not None else "")


def template_of(cid: str, profile_ids: Iterable[str], images: Iterable[str]) -> str:
    """The manifest's form of a concrete check id: a parameter that is an expected profile or image named so."""
    m = re.fullmatch(r"(?P<head>[^\[]+)\[(?P<params>.*)\]", cid, re.S)
    if not m:
        return cid
    if m["params"] in set(profile_ids):
        return f"{m['head']}[{{profile}}]"
    if m["params"] in set(images):
        return f"{m['head']}[{{image}}]"
    return cid


def expand(template: str, profile_ids: Iterable[str], images: Iterable[str]) -> list[str]:
    """The concrete check ids of a manifest entry for the expected state's profiles and images."""
    if "{profile}" in template:
        return [template.replace("{profile}", p) for p in profile_ids]
    if "{image}" in template:
        return [template.replace("{image}", i) for i in images]
    return [template]


def parse(data: object, where: str = str(MANIFEST)) -> list[Required]:
    """The manifest's entries: {step: {check id: [scope markers]}}."""
    if not isinstance(data, dict) or not data:
        raise ManifestError(f"{where}: want a mapping of step ids to their checks")
    out = []
    for step, checks in data.items():
        if not isinstance(step, str) or not re.fullmatch(r"[A-Z]\d+", step) or not isinstance(checks, dict):
            raise ManifestError(f"{where}: {step!r}: want a step id (P1, T3 ...) mapping check ids to scope markers")
        for cid, markers in checks.items():
            if not isinstance(cid, str) or "::" not in cid or not isinstance(markers, list) \
                    or not all(isinstance(x, str) for x in markers):
                raise ManifestError(f"{where}: {step}: {cid!r}: want 'module.py::test_name: [scope markers]'")
            out.append(Required(step=step, id=cid, markers=frozenset(markers)))
    ids = [r.id for r in out]
    if len(set(ids)) != len(ids):
        raise ManifestError(f"{where}: a check is listed twice: {sorted({i for i in ids if ids.count(i) > 1})}")
    return out


def load(path: Path = MANIFEST) -> list[Required]:
    try:
        return parse(yaml.safe_load(path.read_text(encoding="utf-8")), str(path))
    except OSError as exc:
        raise ManifestError(f"cannot read the required-checks manifest {path}: {exc}") from None


def concrete(entries: Iterable[Required], profile_ids: Iterable[str], images: Iterable[str]) -> dict[str, Required]:
    """Concrete check id -> its entry, for the expected state's profiles and images."""
    profile_ids, images = list(profile_ids), list(images)
    return {cid: r for r in entries for cid in expand(r.id, profile_ids, images)}


def all_check_ids() -> dict[str, str]:
    """Every check the manifest names, for the default expected state: concrete check id -> step id."""
    from acceptance import expected

    state = expected.load()
    return {cid: r.step for cid, r in concrete(load(), [p.id for p in state.profiles], state.images).items()}


def dump(entries: Iterable[Required]) -> str:
    from acceptance.settings import STEPS

    by_step: dict[str, dict[str, list[str]]] = {}
    order = list(STEPS)
    for r in sorted(entries, key=lambda r: order.index(r.step) if r.step in order else len(order)):
        by_step.setdefault(r.step, {})[r.id] = sorted(r.markers)
    header = ("# The checks each step requires (acceptance/required.py): a step passes only when every check it\n"
              "# requires in the run's mode ran and passed. Each check lists its scope markers, which decide the\n"
              "# modes that require it (acceptance/verify.py, out_of_scope). {profile} and {image}: one check per\n"
              "# profile and image of the expected state.\n"
              "# Written by `python -m acceptance.required --write`; acceptance/unit/test_required.py keeps it in\n"
              "# step with the collected checks. Removing a check from this file removes it from the verdict:\n"
              "# review such a diff as you would a change to the specification.\n")
    body = yaml.safe_dump(by_step, sort_keys=False, default_flow_style=None, width=200, allow_unicode=True)
    return header + body


class _Collect:
    """A pytest plugin that records the collected checks (before any deselection)."""

    def __init__(self) -> None:
        self.found: list[tuple[str, str, frozenset[str]]] = []

    def pytest_collection_modifyitems(self, items) -> None:
        from acceptance.report.collect import step_of
        from acceptance.verify import SCOPE_MARKERS

        for item in items:
            step = step_of(item)
            if step:
                markers = frozenset(m.name for m in item.iter_markers() if m.name in SCOPE_MARKERS)
                self.found.append((step, check_id(item.nodeid), markers))


def collected(args: list[str] | None = None) -> list[Required]:
    """The checks acceptance/tests holds now, in the manifest's form (default expected state)."""
    import pytest

    from acceptance import expected

    state = expected.load()
    plugin = _Collect()
    code = pytest.main(["acceptance/tests", "--collect-only", "-q", "-p", "no:cacheprovider", *(args or [])],
                       plugins=[plugin])
    if code not in (0,):
        raise ManifestError(f"collecting acceptance/tests failed (pytest exit {code})")
    out: dict[str, Required] = {}
    profile_ids = [p.id for p in state.profiles]
    for step, cid, markers in plugin.found:
        tid = template_of(cid, profile_ids, state.images)
        out.setdefault(tid, Required(step=step, id=tid, markers=markers))
    return list(out.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="write the manifest from the collected checks")
    parser.add_argument("--check", action="store_true",
                        help="exit 1, with the difference, when the manifest and the collected checks differ")
    args = parser.parse_args(argv)
    text = dump(collected())
    if args.check:
        import difflib

        current = MANIFEST.read_text(encoding="utf-8")
        if current == text:
            print(f"{MANIFEST.name}: in step with the collected checks")
            return 0
        sys.stdout.writelines(difflib.unified_diff(current.splitlines(True), text.splitlines(True),
                                                   str(MANIFEST), "collected checks"))
        print(f"\n{MANIFEST.name} and the collected checks differ: a check was added, renamed or removed. If on "
              "purpose, run `python -m acceptance.required --write` and review the diff.")
        return 1
    if args.write:
        MANIFEST.write_text(text, encoding="utf-8")
        print(f"wrote {MANIFEST}")
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
