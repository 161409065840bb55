"""Shared check: a profile started through the REST API lands on its app."""
from __future__ import annotations

import re

from acceptance.settings import Timeouts

# what each app's landing page must contain
APP_MARKERS = {
    "lab": re.compile(r"<title>JupyterLab</title>"),
    "vscode": re.compile(r"vscode-workbench-web-configuration|workbench", re.I),
    "marimo": re.compile(r"marimo", re.I),
}


def assert_lands_on_app(servers, profile, evidence) -> None:
    name = f"rest-{profile.key}"
    server = servers.start("admin", name, profile)
    response = servers.api.server_get(server.url, timeout=Timeouts.app_load)
    evidence.fact("spawn time", f"{server.spawn_seconds:.1f} s")
    evidence.fact("landed on", str(response.url))
    assert response.status_code == 200, f"{response.url} answered {response.status_code}"
    expected = f"{server.url.rstrip('/')}{profile.default_url}"
    assert response.url.path == expected, f"{profile.name} landed on {response.url.path}, expected {expected}"
    assert APP_MARKERS[profile.app].search(response.text), f"{response.url} does not look like {profile.app}"
    servers.stop("admin", name)
