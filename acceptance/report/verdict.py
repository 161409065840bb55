"""What the verdict weighs besides the checks' results (model.assess decides): whether this session owes a
deployment report at all, how its selection was narrowed (-m, -k, arguments, deselection), which required checks
that were not collected it would have selected (only those count as missing), and the image build's status."""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
from _pytest.mark.expression import Expression

from acceptance.report import model
from acceptance.report.collect import get_collector, step_of
from acceptance.report.outputs import invocation_path


def acceptance_run(config: pytest.Config, session: pytest.Session | None = None) -> bool:
    """Whether this session owes a deployment report: its arguments reach acceptance/tests, or it collected
    step-marked checks (--collect-only and xdist workers never)."""
    if config.option.collectonly or hasattr(config, "workerinput"):
        return False
    if session is not None and any(step_of(i) for i in getattr(session, "items", []) or []):
        return True
    if get_collector(config).checks:
        return True
    tests = (config.rootpath / "acceptance" / "tests").resolve()
    if not tests.is_dir():
        return False
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        paths = config.getini("testpaths") or ["."]
    else:
        paths = [a.split("::")[0] for a in config.args]
    for arg in paths:
        path = invocation_path(config, arg).resolve()
        if path == tests or tests in path.parents or path in tests.parents:
            return True
    return False


def narrowing(config: pytest.Config, deselected: int = 0) -> str | None:
    """How the selection was narrowed: -m, -k, arguments other than the ini's testpaths, deselected tests."""
    parts = [f"{flag} {value!r}" for flag, value in (("-m", config.option.markexpr), ("-k", config.option.keyword))
             if value]
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        whole = [(config.rootpath / p).resolve() for p in config.getini("testpaths")] or [config.rootpath.resolve()]
        narrow = []
        for arg in config.args:
            path = invocation_path(config, arg.split("::")[0]).resolve()
            if "::" in arg or not any(path == w or path in w.parents for w in whole):
                narrow.append(arg)
        if narrow:
            parts.append("arguments " + " ".join(narrow))
    if deselected:
        parts.append(f"{model.plural(deselected, 'test')} deselected")
    return "; ".join(parts) or None


def selected_by_narrowing(config: pytest.Config, markers_of: Mapping[str, Iterable[str]]) -> Any:
    """(check id, step) -> whether this run's -m, -k and arguments would have selected that check had it been
    collected (`markers_of`: each check's scope markers): a required check that was not collected only counts as
    missing when it would have."""
    markexpr = Expression.compile(config.option.markexpr) if config.option.markexpr else None
    keyword = Expression.compile(config.option.keyword) if config.option.keyword else None
    narrow_args = []
    tests = (config.rootpath / "acceptance" / "tests").resolve()
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        for arg in config.args:
            path_part, _, name = arg.partition("::")
            path = invocation_path(config, path_part).resolve()
            if path == tests or path in tests.parents:
                continue   # the whole of acceptance/tests
            narrow_args.append((path, name.split("[")[0]))

    def selected(cid: str, step: str) -> bool:
        module, _, name = cid.partition("::")
        markers = {step.lower(), *markers_of.get(cid, ())}
        if markexpr is not None and not markexpr.evaluate(lambda n, **kw: not kw and n in markers):
            return False
        names = {name, module, "acceptance", "tests", *markers}
        if keyword is not None and not keyword.evaluate(lambda sub, **kw: any(sub.lower() in n.lower() for n in names)):
            return False
        if narrow_args:
            return any((path.is_dir() and (tests / module).resolve().is_relative_to(path)) or
                       (path.name == module and (not fn or fn == name.split("[")[0])) for path, fn in narrow_args)
        return True

    return selected


def read_build_status(path: str | None) -> dict[str, Any] | None:
    """images/build.py's status file: None if `path` is not set; {"ok": None, "error": ...} if it is
    missing or malformed; else the file's {"ok": bool, "finished": ..., "images": [...]}."""
    if not path:
        return None
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        return {"ok": None, "error": f"could not read {path}: {e}"}
    well_formed = (isinstance(data, dict) and isinstance(data.get("ok"), bool)
                   and isinstance(data.get("images"), list) and all(isinstance(i, dict) for i in data["images"]))
    if not well_formed:
        return {"ok": None, "error": f"{path} is not a build status (want ok: bool, images: list of objects)"}
    return data
