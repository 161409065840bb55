"""One test run's copy of the production stack (`--stack production`): stack/production/docker-compose.yml
under the run's compose project and name prefix: nginx terminating TLS on a free loopback port (and the HTTP
redirect on another), PostgreSQL as the hub's database, the idle culler and the metrics service, hardened auth.

The proxy generates a self-signed pair on first start; the run reads the certificate from the proxy's volume
and verifies the hub's TLS with it (the run's CA bundle), as an operator's client would trust it. A second
production stack can be given the first one's pair as operator-supplied files (`tls_from`).

The firewall service's rule (no cloud metadata from the user network) is the one thing a run changes on the
host outside Docker's objects: the service removes it when it stops; clean-up removes it if it was kept
(containers still on the bridge then) and checks that it is gone."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from docker.errors import NotFound

from acceptance.client.polling import wait_for
from acceptance.deployments.compose import ComposeStack
from acceptance.deployments.deployment import StackError
from acceptance.deployments.own import free_port
from acceptance.settings import STACK_DIR
from images.build import PRODUCTION_IMAGES

PRODUCTION_DIR = STACK_DIR / "production"
TLS_FILES = ("tls.crt", "tls.key")


class ProductionRun(ComposeStack):
    """The production stack (--stack production); beyond the interface, what only it has: its TLS proxy and the
    HTTP port it redirects from, its database (restart_db, the operator's scripts), the host's firewall rule. A
    check that needs them is given the stack as a ProductionRun (R7's `production_stack` fixture)."""

    kind = "production"
    kind_text = "stack/production/ on one host: TLS proxy, PostgreSQL, idle culler, metrics, hardened auth"
    compose_file = PRODUCTION_DIR / "docker-compose.yml"
    scheme = "https"

    def __init__(self, *args, tls_from: ProductionRun | None = None, **kwargs):
        self.http_port = free_port()   # the proxy's redirect to https
        super().__init__(*args, **kwargs)
        # the user network's bridge interface, named after the run (at most 15 characters: a Linux interface name)
        self.user_bridge = self.env.setdefault("USER_BRIDGE", f"{self.project}-u")
        if len(self.user_bridge) > 15:
            raise StackError(f"USER_BRIDGE {self.user_bridge!r} is longer than 15 characters")
        self.proxy_container_name = f"{self.prefix}jupyterhub-proxy"
        self.db_container_name = f"{self.prefix}jupyterhub-db"
        self.firewall_container_name = f"{self.prefix}jupyterhub-firewall"
        self.tls_dir = Path(self._env_dir.name) / "tls"   # the certificate the run trusts (and, for tls_from, serves)
        self.tls_dir.mkdir(mode=0o700)
        self.ca_bundle = self.tls_dir / "tls.crt"   # what the run's https clients verify this stack's hub with
        if tls_from is not None:   # the operator's own pair, mounted from a host folder
            for name in TLS_FILES:
                shutil.copyfile(tls_from.tls_dir / name, self.tls_dir / name)
            self.env["TLS_DIR"] = str(self.tls_dir)
        self.write_env_file()

    def published_env(self) -> dict[str, str]:
        """The TLS proxy on the host's loopback: https at the run's port, the redirect from http at another."""
        return {"HTTPS_BIND": "127.0.0.1", "HTTPS_PORT": str(self.port), "HTTP_PORT": str(self.http_port)}

    def check_images(self) -> None:
        super().check_images()
        missing = [t for t in PRODUCTION_IMAGES.values() if not self._image_exists(t)]
        if missing:
            raise StackError(f"image(s) missing: {', '.join(missing)}; "
                             "build them with `nox -s images -- proxy db firewall`")

    def before_ready(self) -> None:
        if "TLS_DIR" not in self.env:
            wait_for(self._copy_generated_pair, timeout=30, what="the proxy's self-signed certificate")

    def _copy_generated_pair(self) -> bool:
        try:
            proxy = self.proxy()
        except NotFound:
            return False
        for name in TLS_FILES:
            result = proxy.exec_run(["cat", f"/etc/nginx/tls/{name}"])
            if result.exit_code != 0 or not result.output.strip():
                return False
            (self.tls_dir / name).write_bytes(result.output)
        return True

    # --- the stack's own containers --------------------------------------------------------
    def proxy(self):
        return self.docker.containers.get(self.proxy_container_name)

    def db(self):
        return self.docker.containers.get(self.db_container_name)

    def publisher(self):
        """The only published container: the TLS proxy."""
        return self.proxy()

    def infrastructure_containers(self) -> set[str]:
        return super().infrastructure_containers() | {self.proxy_container_name, self.db_container_name,
                                                      self.firewall_container_name}

    def script(self, name: str, *args: str, cwd: Path | None = None) -> str:
        """Run stack/production/NAME.sh as an operator would (the run's compose project and settings)."""
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "DOCKER_HOST", "LANG", "HUB_IMAGE")}
        proc = subprocess.run(["bash", str(PRODUCTION_DIR / f"{name}.sh"), *args], cwd=cwd or self._env_dir.name,
                              env={**env, **self.env}, capture_output=True, text=True)
        if proc.returncode != 0:
            raise StackError(f"`{name}.sh {' '.join(args)}` failed: {(proc.stderr or proc.stdout)[-2000:]}")
        return proc.stdout

    def restart_db(self) -> None:
        """Restart the database container and wait until it is healthy again and the hub answers."""
        self.db().restart(timeout=20)
        wait_for(lambda: self.db().attrs["State"].get("Health", {}).get("Status") == "healthy", timeout=60,
                 what="the database to be healthy again")
        self.wait_until_ready()

    # --- the host's firewall rule -------------------------------------------------------------
    def firewall(self, command: str) -> tuple[int, str]:
        """Run the firewall image's `firewall-rule COMMAND` (check, remove, show) on the host with the run's
        settings, as the stack's service runs it; returns its exit status and output."""
        environment = {k: self.env[k] for k in ("USER_BRIDGE", "CLOUD_METADATA_ADDRESS") if self.env.get(k)}
        if self.env.get("FIREWALL_IPTABLES"):
            environment["IPTABLES"] = self.env["FIREWALL_IPTABLES"]
        container = self.docker.containers.run(
            self.firewall_image, [command], name=f"{self.prefix}firewall-{command}", detach=True,
            network_mode="host", cap_drop=["ALL"], cap_add=["NET_ADMIN", "NET_RAW"],
            security_opt=["no-new-privileges:true"], read_only=True, tmpfs={"/run": ""}, environment=environment)
        try:
            status = container.wait(timeout=60)["StatusCode"]
            return status, container.logs().decode(errors="replace")
        finally:
            container.remove(force=True)

    @property
    def firewall_image(self) -> str:
        return self.env.get("FIREWALL_IMAGE") or PRODUCTION_IMAGES["firewall"]

    def firewall_rule_present(self) -> bool:
        """Whether the run's rule is in the host's DOCKER-USER chain (never, without the firewall image)."""
        return self._image_exists(self.firewall_image) and self.firewall("check")[0] == 0

    def undo_host_changes(self) -> list[str]:
        if not self.firewall_rule_present():
            return []
        status, output = self.firewall("remove")
        return [] if status == 0 else [f"firewall-rule remove exited {status}: {output[-1000:]}"]

    def leftovers(self) -> list[str]:
        rule = [f"iptables rule in DOCKER-USER for {self.user_bridge}"] if self.firewall_rule_present() else []
        return super().leftovers() + rule
