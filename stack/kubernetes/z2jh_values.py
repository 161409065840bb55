"""Values for the zero-to-jupyterhub Helm chart, rendered from the platform's own definition:

- the profiles from stack/profiles.yaml (singleuser.profileList, one kubespawner_override each);
- the hub settings from stack/jupyterhub_config.py as JupyterHub loads it (authentication, named servers,
  admin access, the default landing URL, timeouts), so a default changed there changes here;
- the single-user images' user id and command from images/singleuser/Dockerfile;
- the chart's idle culler, on.

    python stack/kubernetes/z2jh_values.py [--registry REG/] [--output FILE] [--profiles FILE]

(`nox -s z2jh-values` installs what it needs, the hub's package jhub_platform among it, and runs this). The
values target the chart version CHART_VERSION; acceptance/unit/test_z2jh_values.py builds each profile's pod with
the KubeSpawner that chart's hub runs and compares it with the expected state.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

# the hub's own package (images/hub/), installed into the session's virtualenv by `nox -s z2jh-values`
from jhub_platform.effective_config import load_effective_config
from jhub_platform.profiles import load_profiles

ROOT = Path(__file__).resolve().parents[2]
STACK_DIR = ROOT / "stack"
PROFILES_FILE = STACK_DIR / "profiles.yaml"
SINGLEUSER_DOCKERFILE = ROOT / "images" / "singleuser" / "Dockerfile"
DEFAULT_OUTPUT = ROOT / "reports" / "z2jh-values.yaml"

# the chart release the values are written for: its hub image runs JupyterHub 5.5.0, KubeSpawner 7.0.0
# (pinned in acceptance/requirements.txt for the test) and NativeAuthenticator 1.3.0
CHART_VERSION = "4.4.0"
# the Docker hub's authenticator is NativeAuthenticator with the platform's messages (jhub_platform.auth);
# the chart's hub image has NativeAuthenticator itself, not the platform's package
PLATFORM_AUTHENTICATOR = "jhub_platform.auth.PlatformAuthenticator"
CHART_AUTHENTICATOR = "nativeauthenticator.NativeAuthenticator"
# the idle culler (jupyterhub-idle-culler in the chart's hub): stop a server idle this long (seconds),
# looking every `every` seconds. The Docker stack has none; these are the chart's defaults, stated.
CULL = {"enabled": True, "timeout": 3600, "every": 600}
# Spawner settings of the hub config that apply to KubeSpawner unchanged (pass-through hub.config.Spawner)
SPAWNER_PASS_THROUGH = ("http_timeout", "poll_interval")


class RenderError(ValueError):
    """The platform's definition cannot be expressed as chart values; the message says why."""


def hub_settings() -> dict:
    """{section: {trait: value}} of stack/jupyterhub_config.py under the current environment, except its
    data directory: one that does not exist, so that no secret is made (the chart makes its own)."""
    saved = os.environ.get("HUB_DATA_DIR")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["HUB_DATA_DIR"] = str(Path(tmp) / "absent")
        try:
            return load_effective_config(str(STACK_DIR))
        finally:
            if saved is None:
                del os.environ["HUB_DATA_DIR"]
            else:
                os.environ["HUB_DATA_DIR"] = saved


def image_user(dockerfile: Path = SINGLEUSER_DOCKERFILE) -> tuple[int, list[str]]:
    """(uid, command) of the single-user images: the `useradd --uid` and the exec-form CMD they share."""
    text = dockerfile.read_text()
    uid = re.search(r"useradd\b[^\n]*--uid\s+(\d+)", text)
    cmd = re.findall(r"^CMD\s+(\[.*\])\s*$", text, flags=re.MULTILINE)
    if not uid or len(cmd) != 1:
        raise RenderError(f"{dockerfile}: expected one `useradd --uid N` and one exec-form CMD [...]")
    return int(uid.group(1)), json.loads(cmd[0])


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _memory(memory: str, mem_bytes: int) -> str | int:
    """KubeSpawner's mem_limit: "4G" as written when it has a K/M/G/T suffix (both mean 1024-based
    units), else the byte count (KubeSpawner reads a bare string as a number with a suffix)."""
    text = memory.strip().upper()
    return text if text[-1:] in "KMGT" else mem_bytes


def _split_image(image: str) -> tuple[str, str]:
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:  # no tag (a ":" belongs to a registry port)
        return image, "latest"
    return name, tag


def _home(settings: dict) -> str:
    mounts = set((settings.get("DockerSpawner", {}).get("volumes") or {}).values())
    if len(mounts) != 1:
        raise RenderError(f"hub config: expected one home volume in DockerSpawner.volumes, found {sorted(mounts)}")
    return mounts.pop()


def _auth(settings: dict) -> dict:
    hub = settings.get("JupyterHub", {})
    if hub.get("authenticator_class") != PLATFORM_AUTHENTICATOR:
        raise RenderError(f"hub config: authenticator_class {hub.get('authenticator_class')!r}, the renderer knows "
                          f"{PLATFORM_AUTHENTICATOR} only")
    native = dict(settings.get("NativeAuthenticator", {}))
    if not native.get("open_signup"):
        # with allow_all off, NativeAuthenticator 1.3.0 lets in allowed_users only, never a user the admin
        # approved: production mode needs jhub_platform.auth in the hub image, which the chart's has not
        raise RenderError("hub config: production mode (AUTH_MODE=production) needs the platform's authenticator "
                          "(jhub_platform.auth) in the hub image; the values render bootstrap mode only")
    return {
        "JupyterHub": {"authenticator_class": CHART_AUTHENTICATOR},
        "Authenticator": dict(settings.get("Authenticator", {})),
        "NativeAuthenticator": native,
    }


def render(profiles_file: str | Path = PROFILES_FILE, *, registry: str = "", settings: dict | None = None) -> dict:
    """The chart's values. `registry` is put in front of every image name ("registry.example.org/jhub/");
    `settings` is the evaluated hub config (hub_settings(), the default)."""
    settings = hub_settings() if settings is None else settings
    profiles = load_profiles(profiles_file)
    uid, cmd = image_user()
    hub, spawner = settings.get("JupyterHub", {}), settings.get("Spawner", {})
    config = _auth(settings)
    config["JupyterHub"]["admin_access"] = hub.get("admin_access", False)
    config["Spawner"] = {k: spawner[k] for k in SPAWNER_PASS_THROUGH if k in spawner}

    profile_list = []
    for i, p in enumerate(profiles):
        entry = {"display_name": p.name, "slug": p.key}
        if i == 0:
            entry["default"] = True  # as on Docker: a server started without a choice gets the first
        entry["kubespawner_override"] = {
            "image": registry + p.image,
            "cpu_limit": _number(p.cpus),
            "mem_limit": _memory(p.memory, p.mem_bytes),
            "default_url": p.default_url,
        }
        profile_list.append(entry)
    name, tag = _split_image(registry + profiles[0].image)

    hub_values = {"allowNamedServers": hub.get("allow_named_servers", False), "config": config}
    base_url = urlsplit(hub.get("bind_url", "")).path or "/"
    if base_url != "/":
        hub_values["baseUrl"] = base_url
    singleuser = {
        "image": {"name": name, "tag": tag},
        "cmd": cmd,
        "uid": uid,
        "defaultUrl": spawner.get("default_url", "/lab"),
        "startTimeout": spawner.get("start_timeout", 300),
        "storage": {"type": "dynamic", "homeMountPath": _home(settings)},
        "profileList": profile_list,
    }
    return {"hub": hub_values, "singleuser": singleuser, "cull": dict(CULL)}


def dump(values: dict) -> str:
    import yaml

    header = (f"# zero-to-jupyterhub values (chart {CHART_VERSION}), generated by stack/kubernetes/z2jh_values.py\n"
              "# from stack/profiles.yaml, stack/jupyterhub_config.py and images/singleuser/Dockerfile: edit those.\n")
    return header + yaml.safe_dump(values, sort_keys=False, default_flow_style=False, allow_unicode=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--registry", default="", help="prefix for every image, e.g. registry.example.org/jhub/")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help=f"default: {DEFAULT_OUTPUT}")
    parser.add_argument("--profiles", type=Path, default=PROFILES_FILE, help=f"default: {PROFILES_FILE}")
    args = parser.parse_args(argv)
    registry = args.registry.rstrip("/") + "/" if args.registry else ""
    try:
        values = render(args.profiles, registry=registry)
    except RenderError as exc:
        print(f"z2jh_values: {exc}", file=sys.stderr)
        return 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(dump(values))
    print(args.output.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
