"""Flows several checklist steps share: starting a server from the hub's pages as a person
does, and checking that a profile started through the REST API lands on its app."""
from __future__ import annotations

import re

from acceptance.pages import HomePage
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


def start_from_hub_home(page, servers, profile, server: str = "") -> None:
    """Start the admin's default server ("Start My Server") or a named one ("Add New Server"),
    pick `profile` in the spawn form, press Start and wait for the profile's landing URL."""
    if servers.api.server("admin", server):
        servers.stop("admin", server)
    home = HomePage(page).open()
    spawn = home.add_named_server(server) if server else home.start_my_server()
    prefix = f"/user/admin/{server}" if server else "/user/admin"
    servers.started.append(("admin", server))
    spawn.start(profile.name, lands_on=rf"{prefix}{re.escape(profile.default_url)}")
    status = page.request.get(page.url).status  # the landing URL must serve the app, not an error page
    assert status == 200, f"{profile.name} landed on {page.url}, which answers HTTP {status}"


def allocate_past_the_memory_limit(container, profile) -> int:
    """Run a process in the container that allocates twice the profile's memory limit; its exit code
    (137: killed by the kernel's OOM killer)."""
    chunk = 64 * 1024 * 1024
    hog = (f"chunks = []\nfor _ in range({(profile.mem_bytes * 2) // chunk}):\n"
           f"    chunks.append(bytearray({chunk}))\nprint('allocated', len(chunks) * {chunk})\n")
    return container.exec_run(["python3", "-c", hog]).exit_code
