"""The hub's settings, and what each deployment file passes to the hub: its environment and its mounts.

Each setting's name, default and meaning are in one place: stack/jupyterhub_config.py, where it is read as
env("NAME", "default") (or env_bool) beside a comment that says what it does. read_settings() finds them there.
Two blocks of the hub's service in each deployment file (DEPLOYMENTS) are written from them, each between its
marker lines (markers()):
- settings, the hub's environment: every setting passed through as set (`NAME: ${NAME:-}`: empty when unset, so
  that the default stays in the hub config alone), except where OWN_VALUES gives a deployment a value of its own
  and NOT_PASSED keeps a setting from deployments, each with its reason;
- mounts, the hub's volumes (mounts()): the same in every deployment, plus OWN_MOUNTS.
A setting the hub config reads is passed everywhere unless declared here: adding one to the hub config changes
the three files, and --check (a unit test, acceptance/unit/test_settings.py) fails until they are written.

    python stack/settings.py --write    # rewrite the blocks
    python stack/settings.py --check    # exit 1 and name each file whose blocks differ
"""
from __future__ import annotations

import argparse
import ast
import posixpath
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HUB_CONFIG = "stack/jupyterhub_config.py"
# the deployment files, relative to the repository; each has the blocks (BLOCKS) between their markers
DEPLOYMENTS = {
    "compose": "stack/docker-compose.yml",
    "swarm": "stack/swarm/docker-stack.yml",
    "production": "stack/production/docker-compose.yml",
}
ALL = tuple(DEPLOYMENTS)
# where the hub image's command reads its config (images/hub/Dockerfile)
CONFIG_TARGET = "/etc/jupyterhub/jupyterhub_config.py"
READERS = ("env", "env_bool")   # the hub config's functions that read a setting: NAME first, the default second

LOG_COLLECTOR = ("*log-address", "the stack's log collector (x-log-address)")
# a deployment's own value for a setting instead of the pass-through (YAML, as the file has it): (value, why)
OWN_VALUES: dict[str, dict[str, tuple[str, str]]] = {
    "compose": {
        "USER_LOG_ADDRESS": LOG_COLLECTOR,
    },
    "swarm": {
        "SPAWNER_BACKEND": ("swarm", "a swarm service per server"),
    },
    "production": {
        "POSTGRES_HOST": ("db", "the stack's database container"),
        "POSTGRES_PASSWORD_FILE": ("/run/postgresql-secret/password", "the password the db container keeps"),
        "CULL_IDLE": ("${CULL_IDLE:-true}", "this stack runs the idle culler ..."),
        "METRICS_SERVICE": ("${METRICS_SERVICE:-true}", "... and the metrics service"),
        "AUTH_MODE": ("${AUTH_MODE:-production}", "this stack's identity: the hardened mode"),
        "USER_LOG_ADDRESS": LOG_COLLECTOR,
    },
}

# a deployment's hub mounts besides the shared ones (mounts()): (mount, why)
OWN_MOUNTS: dict[str, tuple[tuple[str, str], ...]] = {
    "production": (("db_secret:/run/postgresql-secret:ro", "the database password (POSTGRES_PASSWORD_FILE)"),),
}

# settings a deployment does not pass to the hub (the hub config's default applies): (names, deployments, why)
NOT_PASSED: tuple[tuple[tuple[str, ...], tuple[str, ...], str], ...] = (
    (("PROFILES_FILE",), ALL, "the profiles are mounted at the default path (PROFILES_HOST_FILE picks the file)"),
    (("HUB_DATA_DIR",), ALL, "the hub's volume is mounted at the default path"),
    (("HUB_CONNECT_URL",), ALL, "the hub's service is named hub, as the default says"),
    (("DOCKER_NETWORK_NAME",), ALL, "the user network is named ${NAME_PREFIX}jupyterhub-net, the default"),
    (("POSTGRES_PASSWORD",), ALL, "kept out of the hub's environment: it reads POSTGRES_PASSWORD_FILE"),
    (("POSTGRES_PORT",), ALL, "the db container listens on PostgreSQL's default port"),
    (("DATABASE_URL", "POSTGRES_HOST", "POSTGRES_USER", "POSTGRES_DB", "POSTGRES_PASSWORD_FILE"),
     ("compose", "swarm"), "no database service: the hub keeps SQLite in its volume"),
    (("CULL_IDLE", "CULL_IDLE_TIMEOUT", "CULL_EVERY", "METRICS_SERVICE", "METRICS_API_TOKEN"),
     ("compose", "swarm"), "the idle culler and the metrics service are the production stack's"),
    (("SPAWNER_BACKEND",), ("compose", "production"), "a container per server on one host, the default"),
    (("SWARM_RESERVE_FRACTION",), ("compose", "production"), "reservations are swarm services' only"),
    (("USER_PIDS_LIMIT", "USER_LOG_ADDRESS"), ("swarm",),
     "a swarm service takes no host config (the pids limit, the log driver); no log collector"),
    (("BASE_URL",), ("production",), "its nginx site serves the hub at / (stack/production/nginx)"),
)


class SettingsError(ValueError):
    """The hub config, the declarations here or a deployment file cannot be used; the message says why."""


@dataclass(frozen=True)
class Setting:
    name: str
    default: str      # the default's Python source, as the hub config writes it
    line: int         # where the hub config first reads it


def read_settings(config_text: str) -> dict[str, Setting]:
    """Every setting the hub config reads, in the order it first reads them. A setting read twice must have
    the same default each time."""
    found: dict[str, Setting] = {}
    tree = ast.parse(config_text)
    readers = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in READERS]
    inside = {id(n) for reader in readers for n in ast.walk(reader)}   # env_bool calls env with its own name
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and id(n) not in inside
             and isinstance(n.func, ast.Name) and n.func.id in READERS]
    for node in ast.walk(tree):   # a setting read another way would be missed
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv") and id(node) not in inside:
            raise SettingsError(f"{HUB_CONFIG}:{node.lineno}: read settings through {' or '.join(READERS)} only")
    for call in sorted(calls, key=lambda n: (n.lineno, n.col_offset)):
        name = call.args[0] if call.args else None
        if len(call.args) != 2 or not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
            raise SettingsError(f"{HUB_CONFIG}:{call.lineno}: read a setting as {call.func.id}(\"NAME\", default)")
        setting = Setting(name.value, ast.unparse(call.args[1]), call.lineno)
        earlier = found.setdefault(setting.name, setting)
        if earlier.default != setting.default:
            raise SettingsError(f"{HUB_CONFIG}:{setting.line}: {setting.name} defaults to {setting.default}, "
                                f"and to {earlier.default} on line {earlier.line}")
    return found


def load(root: Path = ROOT) -> dict[str, Setting]:
    """The settings of the hub config under `root`."""
    return read_settings((root / HUB_CONFIG).read_text())


def not_passed(deployment: str) -> dict[str, str]:
    """{name: why} of the settings `deployment` does not pass."""
    return {name: why for names, where, why in NOT_PASSED if deployment in where for name in names}


def environment(settings: dict[str, Setting], deployment: str) -> dict[str, str]:
    """{name: YAML value} of the hub's environment in `deployment`, in the hub config's order."""
    own, skipped = OWN_VALUES.get(deployment, {}), not_passed(deployment)
    return {name: own[name][0] if name in own else f"${{{name}:-}}" for name in settings if name not in skipped}


def passed_through(settings: dict[str, Setting], deployment: str) -> tuple[str, ...]:
    """The settings `deployment` passes as set, with no value of its own."""
    return tuple(name for name in environment(settings, deployment) if name not in OWN_VALUES.get(deployment, {}))


def declaration_errors(settings: dict[str, Setting]) -> list[str]:
    """Declarations here that name a setting the hub config does not read, a deployment that does not exist,
    or give a setting both a value and no pass."""
    errors = []
    for deployment in OWN_VALUES.keys() | {d for _, where, _ in NOT_PASSED for d in where}:
        if deployment not in DEPLOYMENTS:
            errors.append(f"stack/settings.py: no deployment {deployment!r} (DEPLOYMENTS: {', '.join(DEPLOYMENTS)})")
    declared = [name for names, _, _ in NOT_PASSED for name in names]
    declared += [name for own in OWN_VALUES.values() for name in own]
    errors += [f"stack/settings.py: {name} is declared, but {HUB_CONFIG} does not read it"
               for name in dict.fromkeys(declared) if name not in settings]
    for deployment in DEPLOYMENTS:
        errors += [f"stack/settings.py: {name} has a value of its own in {deployment} and is not passed there"
                   for name in OWN_VALUES.get(deployment, {}).keys() & not_passed(deployment).keys()]
    return errors


def environment_block(settings: dict[str, Setting], deployment: str, width: int) -> list[str]:
    """The hub's environment in `deployment`, with the reasons for what it does not pass."""
    own = OWN_VALUES.get(deployment, {})
    lines = ["# passed through as set (empty when not): the defaults live in the hub config"]
    for name, value in environment(settings, deployment).items():
        lines.append(f"{name}: {value}" + (f"   # {own[name][1]}" if name in own else ""))
    nowhere = [name for names, where, _ in NOT_PASSED if set(where) == set(ALL) for name in names]
    notes = [f"not passed by any deployment (stack/settings.py says why): {', '.join(nowhere)}"] if nowhere else []
    notes += [f"not passed: {', '.join(names)}: {why}" for names, where, why in NOT_PASSED
              if deployment in where and set(where) != set(ALL)]
    for note in notes:
        lines += textwrap.wrap(note, width, initial_indent="# ", subsequent_indent="#   ", break_on_hyphens=False)
    return lines


def mounts(settings: dict[str, Setting], deployment: str) -> list[str]:
    """The hub's volumes in `deployment` (compose's short syntax): the Docker socket, the hub's volume at the hub
    config's HUB_DATA_DIR, the hub config where the hub image reads it and the profiles beside it (PROFILES_FILE's
    default; PROFILES_HOST_FILE picks the host's file), both from stack/ relative to the deployment file; then
    OWN_MOUNTS."""
    stack = posixpath.relpath("stack", posixpath.dirname(DEPLOYMENTS[deployment]))
    config_dir = posixpath.dirname(CONFIG_TARGET)
    return ["/var/run/docker.sock:/var/run/docker.sock",
            f"jupyterhub_data:{ast.literal_eval(settings['HUB_DATA_DIR'].default)}",
            f"{stack}/{posixpath.basename(HUB_CONFIG)}:{CONFIG_TARGET}:ro",
            f"${{PROFILES_HOST_FILE:-{stack}/profiles.yaml}}:{config_dir}/profiles.yaml:ro",
            *(mount for mount, _ in OWN_MOUNTS.get(deployment, ()))]


def mounts_block(settings: dict[str, Setting], deployment: str, width: int) -> list[str]:
    why = dict(OWN_MOUNTS.get(deployment, ()))
    return [f"- {mount}" + (f"   # {why[mount]}" if mount in why else "") for mount in mounts(settings, deployment)]


# the blocks of each deployment file: {name: its lines}; a block is written between `# BEGIN hub NAME...` and
# `# END hub NAME`, indented as those lines are
BLOCKS = {"settings": environment_block, "mounts": mounts_block}


def markers(name: str) -> tuple[str, str]:
    return f"# BEGIN hub {name}: written by `python stack/settings.py --write`", f"# END hub {name}"


def rewrite(text: str, path: str, settings: dict[str, Setting], deployment: str) -> str:
    """`text` (a deployment file) with its blocks written from `settings`."""
    for name, block in BLOCKS.items():
        begin_marker, end_marker = markers(name)
        lines = text.splitlines(keepends=True)
        begins = [i for i, line in enumerate(lines) if line.strip().startswith(begin_marker)]
        ends = [i for i, line in enumerate(lines) if line.strip() == end_marker]
        if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
            raise SettingsError(f"{path}: needs one line `{begin_marker}...` and, after it, one `{end_marker}`; "
                                f"found {len(begins)} and {len(ends)}")
        begin, end = begins[0], ends[0]
        indent = lines[begin][: len(lines[begin]) - len(lines[begin].lstrip())]
        new = [f"{indent}{line}\n" for line in block(settings, deployment, 116 - len(indent))]
        text = "".join(lines[: begin + 1] + new + lines[end:])
    return text


def check(root: Path = ROOT, write: bool = False) -> list[str]:
    """What differs from the hub config and the declarations here, one line each (empty: nothing); with
    `write`, the deployment files are rewritten first."""
    settings = load(root)
    errors = declaration_errors(settings)
    if errors:
        return errors
    for deployment, path in DEPLOYMENTS.items():
        text = (root / path).read_text()
        wanted = rewrite(text, path, settings, deployment)
        if wanted != text and write:
            (root / path).write_text(wanted)
        elif wanted != text:
            errors.append(f"{path}: the hub's environment or mounts differ from {HUB_CONFIG} and stack/settings.py: "
                          "run `python stack/settings.py --write`")
    return errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="rewrite the deployment files' blocks")
    action.add_argument("--check", action="store_true", help="exit 1 when a block differs")
    args = parser.parse_args(argv)
    try:
        errors = check(write=args.write)
    except SettingsError as exc:
        errors = [str(exc)]
    for error in errors:
        print(error, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
