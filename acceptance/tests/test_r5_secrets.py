"""Security 5: Secrets - the cookie secret and the proxy token are generated at the first start and
kept in the hub's volume (never in the repository or an image); two fresh stacks get different
ones, and a restart keeps them (sessions survive it)."""
import re
import subprocess

import pytest

from acceptance import probes
from acceptance.deployments.compose import StackRun
from acceptance.settings import ROOT, platform_profiles
from images.build import HUB_IMAGE

pytestmark = pytest.mark.r5
SECRET_FILES = ("jupyterhub_cookie_secret", "proxy_auth_token")
SKIP_DIRS = {".git", ".nox", "reports", "__pycache__", ".venv", "node_modules"}


def repository_files():
    """The repository's files (git's list when it is a checkout), without generated folders."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True)
    paths = [ROOT / p for p in listed.stdout.splitlines()] if listed.returncode == 0 else ROOT.rglob("*")
    return [p for p in paths if p.is_file() and not SKIP_DIRS & set(p.relative_to(ROOT).parts)]


def test_secrets_are_made_at_first_start_in_the_hub_volume_and_used(stack, evidence):
    """The cookie secret and proxy token are 256-bit random values in /srv/jupyterhub, readable by the
    hub alone, and the running proxy uses that token."""
    secrets = stack.secrets()
    for name in SECRET_FILES:
        assert secrets[name] is not None, f"{name} is not in the hub's volume (/srv/jupyterhub)"
        assert re.fullmatch(r"[0-9a-f]{64}", secrets[name]), f"{name} is not a 64-digit hex secret"
    modes = stack.hub_exec("stat", "-c", "%n %a", *(f"/srv/jupyterhub/{n}" for n in SECRET_FILES)).split()
    evidence.fact("files", " ".join(modes))
    assert modes[1::2] == ["600", "600"], f"secret file modes: {modes}"
    assert secrets.get("proxy process token") == secrets["proxy_auth_token"], \
        "the running proxy does not use the token kept in the volume"


def test_secrets_are_in_no_repository_file_image_or_container_setting(stack, evidence):
    """Neither secret appears in the repository's files, in any of the four images (as a file or in their
    settings), or in the hub container's environment."""
    secrets = stack.secrets()
    values = [secrets[n] for n in SECRET_FILES if secrets[n]]
    assert values, "the hub's volume holds no secrets to look for"
    in_repo = [str(p.relative_to(ROOT)) for p in repository_files()
               if p.name in SECRET_FILES or any(v.encode() in p.read_bytes() for v in values)]
    assert not in_repo, f"secrets in the repository: {in_repo}"

    images = [HUB_IMAGE, *dict.fromkeys(p.image for p in platform_profiles())]
    found = {}
    for n, image in enumerate(images):
        env = " ".join(stack.docker.images.get(image).attrs["Config"].get("Env") or [])
        out = stack.docker.containers.run(image, ["sh", "-c", probes.shell("secret_files")], entrypoint=[], remove=True,
                                          network_mode="none", name=stack.scratch_name(f"secret-scan-{n}")).decode()
        if out.strip() or any(v in env for v in values) or "CONFIGPROXY_AUTH_TOKEN" in env:
            found[image] = out.strip() or "in its environment"
    evidence.fact("images scanned", ", ".join(images))
    assert not found, f"secrets built into images: {found}"
    hub_env = " ".join(stack.hub().attrs["Config"]["Env"])
    assert not any(v in hub_env for v in values), "a secret is in the hub container's environment"


@pytest.mark.disruptive
def test_two_fresh_stacks_get_different_secrets(stack, evidence):
    """A second fresh stack makes its own secrets, different from the first one's."""
    other = StackRun()
    try:
        other.up()
        theirs = other.secrets()
    finally:
        other.down()
    ours = stack.secrets()
    for name in SECRET_FILES:
        assert ours[name] and theirs[name], f"no {name} in the hub's volume"
        assert ours[name] != theirs[name], f"two fresh stacks share the {name}"
    evidence.fact("fresh stacks", f"{stack.project} and {other.project}: different secrets")


@pytest.mark.disruptive
def test_a_hub_restart_keeps_the_secrets(stack, evidence):
    """The secrets after a hub restart are the ones made at the first start (Reliability 3's restart is
    reused when it ran; otherwise the hub is restarted here)."""
    if stack.restarts == 0:
        stack.restart_hub()
    first = stack.first_secrets
    evidence.fact("hub restarts in this run", stack.restarts)
    after = stack.secrets()
    changed = [name for name in SECRET_FILES if after[name] != first[name]]
    assert not changed, f"changed by a hub restart: {changed}"
    assert after.get("proxy process token") == after["proxy_auth_token"], \
        "after the restart the proxy does not use the token kept in the volume"
