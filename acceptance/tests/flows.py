"""Flows several checklist steps share: a check run once for each expected profile (parametrize_over_profiles),
starting a server from the hub's pages as a person does, a process past the memory limit, and a second copy of the
platform beside the run's own."""
from __future__ import annotations

import re
from contextlib import contextmanager

from acceptance import probes, run_state
from acceptance.client.pages import HomePage
from acceptance.deployments.compose import StackRun
from acceptance.deployments.own import OwnStack
from acceptance.report.collect import get_collector


def parametrize_over_profiles(metafunc) -> None:
    """A test module's pytest_generate_tests: a check with a `profile` argument runs once for each profile of the
    run's expected state (ids: the profiles' ids)."""
    if "profile" in metafunc.fixturenames:
        metafunc.parametrize("profile", run_state.expected_state(metafunc.config).profiles, ids=lambda p: p.id)


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


def another_stack(request, label: str, **kwargs):
    """A second compose stack: another_stack_of(StackRun, ...)."""
    return another_stack_of(StackRun, request, label, **kwargs)


@contextmanager
def another_stack_of(kind: type[OwnStack], request, label: str, **kwargs):
    """A second copy of the platform (its own project, prefix and port): started with `kwargs`
    (StackRun's extra_env, extra_profiles), removed afterwards, clean-up checked. Its hub log and
    containers are attached to the report when a test failed meanwhile.
    Use it from session-scoped fixtures: pytest-playwright's browser parametrization reorders tests
    across modules, so a module-scoped fixture may be set up twice."""
    collector = get_collector(request.config)
    run = kind(**kwargs)
    collector.set_info(f"{label} stack", f"{run.project} at {run.hub_url}")
    failed_before = request.session.testsfailed
    try:
        run.up()
        yield run
    finally:
        if request.session.testsfailed > failed_before:
            for name, text in run.diagnostics().items():
                collector.add_run_attachment(f"{label} stack: {name}", text)
        run.down()
