"""Flows several checklist steps share: starting a server from the hub's pages as a person does, and a
process past the memory limit."""
from __future__ import annotations

import re

from acceptance import probes
from acceptance.pages import HomePage


def start_from_hub_home(page, servers, profile, user: str, server: str = "") -> None:
    """Start the logged-in `user`'s default server ("Start My Server") or a named one ("Add New Server"),
    pick `profile` in the spawn form, press Start and wait for the profile's landing URL."""
    if servers.api.server(user, server):
        servers.stop(user, server)
    home = HomePage(page).open()
    spawn = home.add_named_server(server) if server else home.start_my_server()
    prefix = f"/user/{user}/{server}" if server else f"/user/{user}"
    servers.started.append((user, server))
    spawn.start(profile.name, lands_on=rf"{prefix}{re.escape(profile.lands_on)}")
    status = page.request.get(page.url).status  # the landing URL must serve the app, not an error page
    assert status == 200, f"{profile.name} landed on {page.url}, which answers HTTP {status}"


def allocate_past_the_memory_limit(container, profile) -> int:
    """Run a process in the container that allocates twice the profile's memory limit; its exit code
    (137: killed by the kernel's OOM killer)."""
    return container.exec_run(["python3", "-c", probes.source("memory_hog"), str(2 * profile.mem_bytes)]).exit_code
