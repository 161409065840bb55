"""How this run verifies: its own stack (the default), or a running deployment given by URL.

Made once from the command line at configure time (acceptance/verify.py) and kept in the config's stash
(acceptance/run_state.py); read through the `mode` fixture and by the collection hook that leaves out what the
mode may not do."""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Credentials:
    """The admin's credentials for a verify run: a token, or a username and password. Never shown."""

    token: str | None = None
    username: str | None = None
    password: str | None = None

    def __repr__(self) -> str:  # never in a traceback or a report
        return f"Credentials(token={'***' if self.token else None}, username={self.username!r}, password=***)"

    @property
    def any(self) -> bool:
        return bool(self.token or (self.username and self.password))

    @classmethod
    def load(cls, path: str | None = None, env: dict | None = None) -> Credentials:
        """From JUPYTERHUB_ADMIN_TOKEN, or JUPYTERHUB_ADMIN_USER and JUPYTERHUB_ADMIN_PASSWORD, in the
        environment or in a KEY=VALUE file (`path`); the file wins."""
        values = dict(env if env is not None else os.environ)
        if path:
            for line in Path(path).read_text().splitlines():
                if "=" in line and not line.lstrip().startswith("#"):
                    key, value = line.split("=", 1)
                    values[key.strip()] = value.strip().strip('"').strip("'")
        return cls(token=values.get("JUPYTERHUB_ADMIN_TOKEN") or None,
                   username=values.get("JUPYTERHUB_ADMIN_USER") or None,
                   password=values.get("JUPYTERHUB_ADMIN_PASSWORD") or None)


@dataclass(frozen=True)
class RunMode:
    hub_url: str | None = None         # None: the harness starts its own stack
    docker: bool = True                # the run may use the deployment's Docker engine
    disruptive: bool = False           # a verify run may restart, kill and start second stacks (its own stack: always)
    read_only: bool = False            # nothing is created: no users, no servers
    ca_bundle: str | None = None
    credentials: Credentials | None = None
    user_prefix: str = ""              # on every user the run makes (verify runs: jhv<id>-)
    deployment_prefix: str = ""        # the deployment's own NAME_PREFIX (verify runs)
    project: str = "jhub-docker"       # the deployment's compose project (verify runs)
    stack: str = "compose"             # --stack: the kind the harness deploys, or (verify) the kind at hub_url
    load: str | None = None            # a load scenario file: the run ends with the load stage (L1, --load)

    @property
    def verify(self) -> bool:
        return self.hub_url is not None


def new_user_prefix() -> str:
    return f"jhv{uuid.uuid4().hex[:6]}-"

