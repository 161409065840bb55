"""One upgrade run: the old release started under a throw-away project, populated as a real site, upgraded in
place with stack/upgrade.sh (docs/upgrading.md's procedure), verified ("nothing lost", the versions that changed, the
checklist), rolled back from the backup and verified again. Every container, volume, network, image tag and
worktree it makes is removed at the end, and checked."""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from acceptance import probes
from acceptance.client.hub_api import tls_verify
from acceptance.client.polling import wait_for
from acceptance.deployments.compose import ComposeStack, StackRun
from acceptance.deployments.deployment import StackError
from acceptance.deployments.production import ProductionRun
from acceptance.expected import load as load_expected
from acceptance.settings import COMPOSE_FILE, PROFILES_FILE, ROOT, STACK_DIR
from acceptance.upgrade import compare, site
from images.build import (
    HUB_IMAGE,
    INPUTS_LABEL,
    VERSIONED_PACKAGES,
    VERSIONS_LABEL,
    choose_base_image,
    prepare_extra_ca,
)

UPGRADE_SCRIPT = STACK_DIR / "upgrade.sh"
JH5_IMAGE = "local/jupyterhub-hub:jh5"
LAB_IMAGE = "local/uv-lab:latest"
# each breakage, and the check that must catch it
BREAKAGES = {
    "skip-migration": ("hub-starts", "the upgrade skips `jupyterhub upgrade-db`: the new hub meets the old schema"),
    "no-volume": ("nothing-lost", "the hub is re-created without its data volume (as after `docker compose down -v`)"),
    "drop-package": ("notebooks", f"the new Lab image lacks {site.NOTEBOOK_PACKAGE}, which users' notebooks import"),
}


@dataclass
class Check:
    id: str
    title: str
    ok: bool | None = None          # None: not run
    message: str = ""
    seconds: float = 0.0
    narrowed: bool = False          # not run because the run was narrowed on purpose (--checklist none)


@dataclass
class Release:
    """One side of the upgrade: its compose file, hub image, profiles file, and what to call it."""
    label: str
    compose_file: Path
    hub_image: str
    profiles_file: Path
    env: dict[str, str] = field(default_factory=dict)


class UpgradeStack(StackRun):
    """The old release's stack under the run's project and prefix, from its own compose file."""

    def __init__(self, compose_file: Path, extra_env: dict[str, str]):
        self.compose_file = compose_file
        super().__init__(extra_env=extra_env)


class UpgradeProductionStack(ProductionRun):
    """The old release's production stack (TLS proxy, PostgreSQL ...) under the run's project and prefix."""

    def __init__(self, compose_file: Path, extra_env: dict[str, str]):
        self.compose_file = compose_file
        super().__init__(extra_env=extra_env)


def _compose_vars(compose_file: Path) -> set[str]:
    return set(re.findall(r"\$\{(\w+)", compose_file.read_text()))


def script_env(stack: ComposeStack, release: Release) -> dict[str, str]:
    """The environment stack/upgrade.sh and `docker compose` run with: none of the compose file's variables from
    this process (only the stack's and the release's)."""
    read = _compose_vars(COMPOSE_FILE) | _compose_vars(release.compose_file)
    env = {k: v for k, v in os.environ.items() if k not in read and not k.startswith("COMPOSE_")}
    return {**env, **stack.env, "HUB_IMAGE": release.hub_image, "COMPOSE_FILE": str(release.compose_file),
            "PROFILES_HOST_FILE": str(release.profiles_file), **release.env}


def definition(stack: ComposeStack, release: Release) -> dict:
    """The deployment's definition as a release has it: the hub service as compose renders it (image, settings,
    mounts, ports), the profiles, and the images with their labels (versions, build inputs)."""
    env = script_env(stack, release)
    proc = subprocess.run(["docker", "compose", "--env-file", os.devnull, "-f", str(release.compose_file), "config",
                           "--format", "json"], env=env, capture_output=True, text=True, check=True)
    rendered = json.loads(proc.stdout)
    hub = rendered["services"]["hub"]
    profiles = {p["key"]: {k: v for k, v in p.items() if k != "key"}
                for p in (yaml.safe_load(release.profiles_file.read_text()) or {}).get("profiles", [])}
    images = {}
    for tag in [release.hub_image, *dict.fromkeys(p.get("image") for p in profiles.values() if p.get("image"))]:
        try:
            img = stack.docker.images.get(tag)
            labels = img.labels or {}
            images[tag] = {"id": img.short_id, "versions": labels.get(VERSIONS_LABEL, ""),
                           "inputs": labels.get(INPUTS_LABEL, "")[:12]}
        except Exception as exc:  # noqa: BLE001 - shown in the definition
            images[tag] = {"error": str(exc)}
    # the files the hub mounts (its config, the profiles), by content: a changed setting shows even where the paths
    # of two checkouts differ anyway
    files = {}
    for mount in hub.get("volumes") or []:
        source = Path(mount.get("source") or "")
        if mount.get("type") == "bind" and source.is_file():
            files[mount["target"]] = hashlib.sha256(source.read_bytes()).hexdigest()[:12]
    return {"hub": {k: hub.get(k) for k in ("image", "environment", "volumes", "ports", "networks", "restart")},
            "hub_files": files, "profiles": profiles, "images": images}


class UpgradeRun:
    def __init__(self, old: Release, new: Release, breakage: str | None, checklist: str, report_dir: Path,
                 log=print, kind: str = "compose"):
        self.old, self.new, self.breakage, self.checklist = old, new, breakage, checklist
        self.kind = kind
        self.report_dir = report_dir
        self.log = log
        self.checks: list[Check] = []
        self.data: dict = {"from": old.label, "to": new.label, "stack": kind, "breakage": breakage,
                           "breakage_caught_by": BREAKAGES[breakage][0] if breakage else None}
        self.timings: dict[str, float] = {}
        self.stack: UpgradeStack | None = None
        self.site: site.Site | None = None
        self.backup_dir = Path(tempfile.mkdtemp(prefix="jhv-upgrade-backup-"))
        self.transcript: list[str] = []

    # --- helpers ----------------------------------------------------------------------------------------------
    def check(self, cid: str, title: str, fn) -> Check:
        """Run one check: `fn` returns a message (passed) or raises AssertionError/StackError (failed)."""
        c = Check(cid, title)
        t0 = time.monotonic()
        try:
            c.message = fn() or ""
            c.ok = True
        except (AssertionError, StackError, subprocess.CalledProcessError, httpx.HTTPError) as exc:
            c.ok, c.message = False, _message(exc)
        c.seconds = round(time.monotonic() - t0, 1)
        self.checks.append(c)
        self.log(f"[upgrade] {'PASS' if c.ok else 'FAIL'} {cid}: {title}" + (f": {c.message}" if c.message else ""))
        return c

    def skipped(self, cid: str, title: str, why: str, narrowed: bool = False) -> None:
        self.checks.append(Check(cid, title, None, f"not run: {why}", narrowed=narrowed))
        self.log(f"[upgrade] NOT RUN {cid}: {title}: {why}")

    def phase(self, name: str, fn):
        t0 = time.monotonic()
        try:
            return fn()
        finally:
            self.timings[name] = round(time.monotonic() - t0, 1)
            self.log(f"[upgrade] {name}: {self.timings[name]} s")

    def script(self, release: Release, *args: str, check: bool = True) -> str:
        """bash stack/upgrade.sh ARGS with the release's environment; its output (kept for the report)."""
        proc = subprocess.run(["bash", str(UPGRADE_SCRIPT), *args], env=script_env(self.stack, release),
                              capture_output=True, text=True, timeout=600)
        out = f"$ bash stack/upgrade.sh {' '.join(args)}\n{proc.stdout}{proc.stderr}"
        self.transcript.append(out)
        if check and proc.returncode != 0:
            raise StackError(f"stack/upgrade.sh {args[0]} exited {proc.returncode}: "
                             f"{(proc.stdout + proc.stderr)[-1500:]}")
        return proc.stdout + proc.stderr

    def info(self) -> dict:
        """/hub/api/info with the admin's token; its version from /hub/api/ (no token needed) when the hub refuses
        the token (a hub that lost its database: the comparison says so, not this)."""
        with self.site.api() as api:
            r = api.http.get("/hub/api/info")
            if r.status_code == 200:
                return r.json()
            version = httpx.get(f"{self.stack.hub_url}/hub/api/", timeout=10,
                                verify=tls_verify(self.stack.ca_bundle)).json().get("version")
            return {"version": version, "refused": f"/hub/api/info: HTTP {r.status_code} with the admin's token"}

    # --- the run ----------------------------------------------------------------------------------------------
    def run(self) -> bool:
        try:
            self._run()
        except Exception as exc:  # noqa: BLE001 - the run's own failure is a failed check in the report
            import traceback
            self.checks.append(Check("run", "the upgrade run itself", False, f"{type(exc).__name__}: {_message(exc)}"))
            self.log(traceback.format_exc())
        finally:
            self.phase("clean-up", self.cleanup)
        return self.passed()

    def passed(self) -> bool:
        return bool(self.checks) and all(c.ok or c.narrowed for c in self.checks)

    def _run(self) -> None:
        stack_class = UpgradeProductionStack if self.kind == "production" else UpgradeStack
        self.stack = stack_class(self.old.compose_file, {"HUB_IMAGE": self.old.hub_image,
                                                         "PROFILES_HOST_FILE": str(self.old.profiles_file),
                                                         **self.old.env})
        self.log(f"[upgrade] project {self.stack.project}, hub {self.stack.hub_url}; from {self.old.label} "
                 f"to {self.new.label} ({self.new.hub_image})"
                 + (f"; breakage {self.breakage}" if self.breakage else ""))
        self.data["project"] = self.stack.project
        self.data["definition_diff"] = compare.diff(definition(self.stack, self.old), definition(self.stack, self.new))
        self.phase("start old release", self.stack.up)
        admin = load_expected().admin   # the specification's admin
        self.site = self.phase("populate", lambda: site.populate(self.stack.hub_url, admin, self.stack.ca_bundle))
        info_before = self.info()
        self.before = self.phase("snapshot before", lambda: site.snapshot(self.site, self.stack.docker,
                                                                          self.stack.prefix, self.old.hub_image))
        self.data["before"] = self.before.to_json()
        self.data["versions_before"] = self._versions(info_before, self.old.hub_image)

        upgraded = self.phase("upgrade", self._upgrade)
        if upgraded.ok:
            self._verify_upgraded()
        else:
            for cid, title in (("versions", "the versions that changed"), ("nothing-lost", "nothing lost"),
                               ("servers-running", "servers left running still answer"),
                               ("notebooks", "users' notebooks run on the new images"),
                               ("checklist", "the checklist against the upgraded deployment")):
                self.skipped(cid, title, "the upgraded hub did not start")
        self.phase("rollback", self._rollback)

    def _versions(self, info: dict, image: str) -> dict:
        labels = self.stack.docker.images.get(image).labels or {}
        spawner, auth = info.get("spawner", {}), info.get("authenticator", {})
        versions = compare.parse_versions(labels.get(VERSIONS_LABEL))
        if not versions:   # an image built before the label existed (a --from REF): ask its Python
            versions = json.loads(self.stack.docker.containers.run(
                image, ["python3", "-c", probes.source("package_versions"), *VERSIONED_PACKAGES], entrypoint=[],
                remove=True, network_mode="none"))
        return {"hub_api": {"jupyterhub": info.get("version"),
                            "spawner": f"{spawner.get('class')} {spawner.get('version')}",
                            "authenticator": f"{auth.get('class')} {auth.get('version')}"},
                "image": image, "image_versions": versions}

    def _upgrade(self) -> Check:
        def upgrade():
            self.script(self.new, "backup", str(self.backup_dir))
            if self.breakage == "no-volume":   # the operator's mistake: the hub's volume gone before the new hub
                env = script_env(self.stack, self.new)
                volume = (self.backup_dir / "hub-volume").read_text().strip()
                subprocess.run(["docker", "compose", "rm", "-sf", "hub"], env=env, check=True, capture_output=True)
                subprocess.run(["docker", "volume", "rm", volume], check=True, capture_output=True)
                self.transcript.append(f"(breakage no-volume) docker compose rm -sf hub; docker volume rm {volume}")
            if self.breakage == "skip-migration":
                self.transcript.append("(breakage skip-migration) stack/upgrade.sh migrate left out")
            else:
                out = self.script(self.new, "migrate")
                self.data["migration_log"] = out
            self.script(self.new, "start")
            self.stack.wait_until_ready()
            return "the hub answers on the new release after backup, migrate, start"
        return self.check("hub-starts", "the upgraded hub starts on the old release's data", upgrade)

    def _verify_upgraded(self) -> None:
        def versions():
            info = self.info()
            self.data["versions_after"] = after = self._versions(info, self.new.hub_image)
            before = self.data["versions_before"]
            self.data["version_changes"] = compare.version_changes(
                {**before["image_versions"], "hub API version": before["hub_api"]["jupyterhub"]},
                {**after["image_versions"], "hub API version": after["hub_api"]["jupyterhub"]})
            label = after["image_versions"].get("jupyterhub")
            assert info.get("version") == label, \
                f"/hub/api/info says JupyterHub {info.get('version')}, the new hub image's label {label}"
            return ", ".join(f"{c['component']} {c['from']} -> {c['to']}" for c in self.data["version_changes"]
                             if c["changed"]) or "no version changed"
        self.check("versions", "the versions that changed", versions)

        def nothing_lost():
            self.after = site.snapshot(self.site, self.stack.docker, self.stack.prefix, self.new.hub_image)
            self.data["after"] = self.after.to_json()
            rows = compare.compare(self.before, self.after)
            self.data["table"] = [r.__dict__ for r in rows]
            lost = compare.losses(rows)
            assert not lost, f"{len(lost)} of {len(rows)} lost: " + "; ".join(lost[:6])
            return f"{len(rows)} of {len(rows)} kept (users, admin flags, tokens, servers, files, kernel state)"
        self.check("nothing-lost", "nothing lost", nothing_lost)

        def servers_running():
            failing = site.wait_servers_answer(self.site)
            assert not failing, "; ".join(failing)
            return f"{len(self.site.running)} servers left running answer through the proxy"
        self.check("servers-running", "servers left running still answer", servers_running)

        def notebooks():
            user = self.site.notebook_user
            with self.site.api(user) as api:
                profile = self._first_profile()
                api.start_server(user, "", profile)
                api.wait_ready(user, "")
                try:
                    out = site.run_notebook(self.stack.hub_url, user, self.site.tokens[user],
                                            ca_bundle=self.stack.ca_bundle)
                except AssertionError as exc:
                    raise AssertionError(f"{user}'s {site.NOTEBOOK} on a server of the new release: {exc}") from None
                finally:
                    api.stop_server(user, "")
                    api.wait_stopped(user, "")
            return f"{user}'s {site.NOTEBOOK} ran on a new server of the new release: {out!r}"
        self.check("notebooks", "users' notebooks run on the new images", notebooks)

        if self.checklist == "none":
            self.skipped("checklist", "the checklist against the upgraded deployment", "--checklist none",
                         narrowed=True)
        else:
            c = self.check("checklist", "the checklist against the upgraded deployment", self._checklist)
            c.narrowed = self.checklist != "all"   # a marker expression: PARTIAL at best

    def _first_profile(self) -> str:
        from acceptance.client.servers import read_offered_profiles
        with self.site.api() as admin_api:
            return next(iter(read_offered_profiles(self.stack.hub_url, "alice", self.site.passwords["alice"],
                                                   admin_api).values()))

    def _checklist(self) -> str:
        out_dir = self.report_dir / "checklist"
        shutil.rmtree(out_dir, ignore_errors=True)
        out_dir.mkdir(parents=True)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("JUPYTERHUB_ADMIN_") and k != "IMAGE_BUILD_STATUS"}
        env.update(TESTCONTAINERS_RYUK_DISABLED="true", JUPYTERHUB_ADMIN_USER=self.site.admin,
                   JUPYTERHUB_ADMIN_PASSWORD=self.site.passwords[self.site.admin])
        cmd = [sys.executable, "-m", "pytest", "acceptance/tests", "--hub-url", self.stack.hub_url, "--docker-host",
               "--name-prefix", self.stack.prefix, "--compose-project", self.stack.project, "-p", "no:cacheprovider",
               "--report-dir", str(out_dir), f"--junitxml={out_dir / 'junit.xml'}",
               f"--html={out_dir / 'pytest-report.html'}", f"--output={out_dir / 'artifacts'}"]
        if self.checklist != "all":
            cmd += ["-m", self.checklist]
        if self.stack.ca_bundle:   # production: the proxy's certificate, as the run trusts it
            cmd += ["--ca-bundle", str(self.stack.ca_bundle)]
        if self.kind != "compose":   # its variant of the expected state, and the steps that kind covers
            cmd += ["--stack", self.kind]
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
        (out_dir / "verify.log").write_text(proc.stdout + proc.stderr)
        report_file = out_dir / "deployment-report.json"
        assert report_file.is_file(), f"the verify run wrote no report (exit {proc.returncode}): " \
                                      f"{(proc.stdout + proc.stderr)[-800:]}"
        report = json.loads(report_file.read_text())
        self.data["checklist"] = {"status": report.get("status"), "exit": proc.returncode,
                                  "report": str(out_dir / "deployment-report.html"),
                                  "reasons": report.get("reasons", [])[:10]}
        ok = report.get("status") in ("OPERATIONAL", "PARTIAL") and proc.returncode == 0
        assert ok, f"verify run {report.get('status')} (exit {proc.returncode}): {report.get('reasons', [])[:4]}"
        return f"verify by URL: {report.get('status')} ({report.get('scope', '')[:160]})"

    def _rollback(self) -> None:
        if not (self.backup_dir / "hub-data.tar").is_file():
            self.skipped("rollback", "rolled back, the old release serves the same state", "no backup was made")
            return

        def rollback():
            self.script(self.old, "rollback", str(self.backup_dir))
            self.stack.wait_until_ready()
            info = self.info()
            old_version = self.data["versions_before"]["hub_api"]["jupyterhub"]
            assert info.get("version") == old_version, \
                f"after the rollback /hub/api/info says {info.get('version')}, the old release ran {old_version}"
            again = site.snapshot(self.site, self.stack.docker, self.stack.prefix, self.old.hub_image)
            self.data["after_rollback"] = again.to_json()
            rows = compare.compare(self.before, again)
            self.data["rollback_table"] = [r.__dict__ for r in rows]
            lost = compare.losses(rows)
            assert not lost, f"after the rollback {len(lost)} of {len(rows)} differ: " + "; ".join(lost[:6])
            return f"JupyterHub {info.get('version')} again, {len(rows)} of {len(rows)} as before the upgrade"
        self.check("rollback", "rolled back, the old release serves the same state", rollback)

    # --- clean-up ---------------------------------------------------------------------------------------------
    def cleanup(self) -> None:
        errors = []
        if self.stack is not None:
            try:
                self.stack.down()
            except StackError as exc:
                errors.append(str(exc))
        shutil.rmtree(self.backup_dir, ignore_errors=True)
        self.data["cleanup_errors"] = errors
        if errors:
            self.checks.append(Check("clean-up", "nothing of the run left", False, "; ".join(errors)))


def _message(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, subprocess.CalledProcessError):
        text += f": {(exc.stderr or b'')[-800:]!r}"
    return text.strip()


# --- the releases -----------------------------------------------------------------------------------------------

def compose_file_of(root: Path, kind: str) -> Path:
    """A checkout's compose file for the stack kind: stack/docker-compose.yml or stack/production/'s."""
    return root / "stack" / ("production/docker-compose.yml" if kind == "production" else "docker-compose.yml")


def this_release(env: dict[str, str] | None = None, profiles_file: Path = PROFILES_FILE,
                 kind: str = "compose") -> Release:
    return Release("this checkout", compose_file_of(ROOT, kind), HUB_IMAGE, profiles_file, env or {})


def jh5_release(kind: str = "compose") -> Release:
    """The default old release: this checkout with the previous release's hub image (JupyterHub 5.5.4)."""
    return Release("this checkout with JupyterHub 5.5.4 (local/jupyterhub-hub:jh5)", compose_file_of(ROOT, kind),
                   JH5_IMAGE, PROFILES_FILE)


class GitRelease:
    """A git REF of this repository, in a worktree under a temp dir; its hub image built under a run-specific tag
    (the user images are this host's: building a REF's three user images takes minutes and would need their own
    tags in its profiles)."""

    def __init__(self, ref: str, tag_suffix: str, log=print):
        self.ref, self.log = ref, log
        self.dir = Path(tempfile.mkdtemp(prefix="jhv-upgrade-worktree-")) / "old"
        self.tag = f"local/jupyterhub-hub:{tag_suffix}"
        self.added = False

    def make(self, kind: str = "compose") -> Release:
        subprocess.run(["git", "worktree", "add", "--detach", str(self.dir), self.ref], cwd=ROOT, check=True,
                       capture_output=True, text=True)
        self.added = True
        ca = prepare_extra_ca()
        if ca != "none":
            (self.dir / "images" / "ca").mkdir(exist_ok=True)
            shutil.copyfile(ROOT / "images" / "ca" / "extra-ca.pem", self.dir / "images" / "ca" / "extra-ca.pem")
        self.log(f"[upgrade] building {self.tag} from {self.ref}")
        subprocess.run(["docker", "build", "--force-rm", "-q", "-t", self.tag, "-f",
                        str(self.dir / "images/hub/Dockerfile"), "--build-arg", f"BASE_IMAGE={choose_base_image()}",
                        str(self.dir / "images")],
                       check=True, capture_output=True, env={**os.environ, "DOCKER_BUILDKIT": "0"})
        return Release(f"git {self.ref} ({self.tag})", compose_file_of(self.dir, kind), self.tag,
                       self.dir / "stack" / "profiles.yaml")

    def remove(self) -> list[str]:
        errors = []
        subprocess.run(["docker", "image", "rm", "-f", self.tag], capture_output=True)
        if self.added:
            proc = subprocess.run(["git", "worktree", "remove", "--force", str(self.dir)], cwd=ROOT,
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                errors.append(f"git worktree remove {self.dir}: {proc.stderr.strip()}")
        shutil.rmtree(self.dir.parent, ignore_errors=True)
        subprocess.run(["git", "worktree", "prune"], cwd=ROOT, capture_output=True)
        return errors


def broken_lab_image(tag: str) -> None:
    """The drop-package breakage's new Lab image: this host's Lab image without NOTEBOOK_PACKAGE."""
    dockerfile = (f"FROM {LAB_IMAGE}\nUSER root\n"
                  f"RUN rm -rf /opt/venv/lib/python3*/site-packages/{site.NOTEBOOK_PACKAGE} "
                  f"/opt/venv/lib/python3*/site-packages/{site.NOTEBOOK_PACKAGE}-*\nUSER nebula\n")
    subprocess.run(["docker", "build", "--force-rm", "-q", "-t", tag, "-"], input=dockerfile.encode(), check=True,
                   capture_output=True, env={**os.environ, "DOCKER_BUILDKIT": "0"})


def profiles_with_image(path: Path, old: str, new: str) -> None:
    data = yaml.safe_load(PROFILES_FILE.read_text())
    for p in data["profiles"]:
        if p.get("image") == old:
            p["image"] = new
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def wait_removed(tag: str, docker_client) -> None:
    from docker.errors import ImageNotFound

    def gone():
        try:
            docker_client.images.get(tag)
            return False
        except ImageNotFound:
            return True
    wait_for(gone, timeout=30, what=f"image {tag} to be removed")
