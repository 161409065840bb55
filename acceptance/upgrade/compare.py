"""The upgrade run's own logic, kept free of Docker and HTTP so the unit tests cover it: what "nothing lost" means
(`compare`: a site's state before against after), and how two releases' deployment definitions differ (`diff`,
like `helm diff`)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class SiteState:
    """What an upgrade must keep, as the harness saw it.

    users: name -> {"admin": bool, "servers": {server name ("" default): {"running": bool}}}
    tokens: owner -> whether the token the run made for them was accepted (GET /hub/api/user answered with the owner)
    files: user -> {path in the home: sha256} (hidden paths, the apps' caches, left out)
    kernel: the value a kernel left running holds (None: no kernel answered)
    """
    users: dict[str, dict] = field(default_factory=dict)
    tokens: dict[str, bool] = field(default_factory=dict)
    files: dict[str, dict[str, str]] = field(default_factory=dict)
    kernel: str | None = None
    logins: dict[str, bool] = field(default_factory=dict)   # signup -> may log in (False: still pending approval)
    errors: list[str] = field(default_factory=list)   # what could not be read (the hub refused the admin's token ...)

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class Row:
    """One line of the before/after table."""
    what: str
    before: str
    after: str
    ok: bool
    note: str = ""


def _servers(state: dict) -> dict[str, dict]:
    return state.get("servers") or {}


def compare(before: SiteState, after: SiteState, *, running_kept: bool = True) -> list[Row]:
    """Row by row, whether `after` still has everything of `before`: every user and their admin flag, every token
    still accepted, every server (named ones by name), the servers left running still running (`running_kept`:
    the procedure says they keep running), every file with the same content, the kernel's value. A user, server or
    file that only `after` has is no loss: not listed."""
    rows = []
    for error in after.errors:
        rows.append(Row("reading the site", "", error, False, "the state after could not be read"))
    for name, user in sorted(before.users.items()):
        now = after.users.get(name)
        rows.append(Row(f"user {name}", _user_text(user), _user_text(now) if now else "missing",
                        now is not None and bool(now.get("admin")) == bool(user.get("admin"))))
        for server, model in sorted(_servers(user).items()):
            label = f"server {name}/{server or '(default)'}"
            got = _servers(now or {}).get(server)
            if got is None:
                rows.append(Row(label, _server_text(model), "missing", False))
                continue
            ok = not (running_kept and model.get("running") and not got.get("running"))
            rows.append(Row(label, _server_text(model), _server_text(got), ok,
                            "" if ok else "was running, the upgrade procedure keeps it running"))
    for owner, accepted in sorted(before.tokens.items()):
        if not accepted:
            continue   # a token that was not valid before is not the upgrade's loss
        now = after.tokens.get(owner)
        rows.append(Row(f"token of {owner}", "accepted", {True: "accepted", False: "refused"}.get(now, "not tried"),
                        bool(now)))
    for name, accepted in sorted(before.logins.items()):
        now = after.logins.get(name)
        text = {True: "may log in", False: "waits for approval", None: "not tried"}
        rows.append(Row(f"signup {name}", text[accepted], text[now], now == accepted))
    for user, files in sorted(before.files.items()):
        now = after.files.get(user, {})
        for path, digest in sorted(files.items()):
            got = now.get(path)
            rows.append(Row(f"file {user}:{path}", digest[:12], "missing" if got is None else got[:12],
                            got == digest, "" if got in (None, digest) else "content changed"))
    if before.kernel is not None:
        rows.append(Row("kernel state", before.kernel, str(after.kernel), after.kernel == before.kernel))
    return rows


def losses(rows: list[Row]) -> list[str]:
    """One line per failed row: what was lost."""
    return [f"{r.what}: before {r.before}, after {r.after}" + (f" ({r.note})" if r.note else "")
            for r in rows if not r.ok]


def _user_text(user: dict) -> str:
    return "admin" if user.get("admin") else "user"


def _server_text(model: dict) -> str:
    return "running" if model.get("running") else "stopped"


# --- the deployment's definition, old against new -------------------------------------------------------------

def flatten(value, path: str = "") -> dict[str, object]:
    """{dotted path: leaf value} of nested dicts; lists are leaves unless they hold dicts (then indexed)."""
    if isinstance(value, dict):
        if not value and path:
            return {path: {}}
        out = {}
        for key in value:
            out.update(flatten(value[key], f"{path}.{key}" if path else str(key)))
        return out
    if isinstance(value, list) and any(isinstance(v, dict) for v in value):
        out = {}
        for i, item in enumerate(value):
            out.update(flatten(item, f"{path}[{i}]"))
        return out
    return {path: value}


def diff(old: dict, new: dict) -> list[dict]:
    """Every difference between two definitions, by dotted path: {"path", "change": added | removed | changed,
    "old", "new"}, sorted by path."""
    a, b = flatten(old), flatten(new)
    out = []
    for path in sorted(set(a) | set(b)):
        if path not in a:
            out.append({"path": path, "change": "added", "old": None, "new": b[path]})
        elif path not in b:
            out.append({"path": path, "change": "removed", "old": a[path], "new": None})
        elif a[path] != b[path]:
            out.append({"path": path, "change": "changed", "old": a[path], "new": b[path]})
    return out


def diff_text(changes: list[dict]) -> str:
    """The diff as `helm diff` prints it: - old, + new, per path."""
    lines = []
    for c in changes:
        if c["change"] in ("removed", "changed"):
            lines.append(f"- {c['path']}: {c['old']!r}")
        if c["change"] in ("added", "changed"):
            lines.append(f"+ {c['path']}: {c['new']!r}")
    return "\n".join(lines)


def parse_versions(label: str | None) -> dict[str, str]:
    """"jupyterhub==6.1.1 dockerspawner==14.0.0" (the hub image's versions label) -> {package: version}."""
    out = {}
    for word in (label or "").split():
        name, sep, version = word.partition("==")
        if sep:
            out[name] = version
    return out


def version_changes(old: dict[str, str], new: dict[str, str]) -> list[dict]:
    """Every component with its from and to version (unchanged ones too): [{"component", "from", "to", "changed"}]."""
    return [{"component": name, "from": old.get(name), "to": new.get(name), "changed": old.get(name) != new.get(name)}
            for name in sorted(set(old) | set(new))]
