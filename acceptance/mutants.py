"""The harness tests itself by mutation: deliberate breakages of the platform, one at a time, each in a
scratch copy of stack/ and images/, and the checklist steps that must catch it run against it.

    python -m acceptance.mutants            # every breakage (the nightly workflow)
    python -m acceptance.mutants --smoke    # the few .ci/run runs
    python -m acceptance.mutants --only p3-memory-doubled t2-profile-dropped
    python -m acceptance.mutants --list

First the control: each breakage's selection (its steps' markers, -k select, --stack, args) runs against the
unbroken platform and must pass, check by check (one pytest run per --stack/args combination, its -k the OR of
the breakages' selections; the results are mapped back per breakage by pytest's own -m/-k matching, see
pytest_collection_modifyitems). A breakage whose control did not pass is not run: "control failed".

Then each breakage, against a stack from its scratch copy. Its result:
  caught        every step it names has a check that failed on its assertion (the report's failed_on:
                assert, Playwright's expect), and the check says `must_say` when the breakage sets it
  missed        it ran, and a named step has no check that failed on its assertion (setup errors, crashes
                and passes do not count)
  not applied   the scratch build failed (or, for a breakage whose point is a failed build, succeeded), the
                stack did not start, pytest selected nothing or wrote no report, the session was interrupted,
                or no check got past its setup
  control failed  see above

Kill rate: caught / applied (caught + missed). Exit status 0 only when every breakage run was caught.
Prints a table and writes reports/mutants.json (the deployment report shows the latest): the rows, the control
runs, and the coverage table (each check id and the breakages, or unit tests (UNIT_CATCHES), that made it fail on
its assertion; the checks none did). Each run's own reports go under reports/mutants/<id>/, the controls' under
reports/mutants/control-<stack>[-<args>]/.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from acceptance.report.model import ON_ASSERTION, ON_TEARDOWN
from acceptance.required import check_id
from acceptance.settings import REPORTS_DIR, ROOT

PYTEST_NO_TESTS = 5   # pytest's exit status when nothing was selected
PROFILES, CONFIG, COMPOSE = "stack/profiles.yaml", "stack/jupyterhub_config.py", "stack/docker-compose.yml"
DOCKERFILE, SERVER_CONFIG = "images/singleuser/Dockerfile", "images/singleuser/jupyter_server_config.py"
SWARM_STACK = "stack/swarm/docker-stack.yml"
PROD_COMPOSE, NGINX = "stack/production/docker-compose.yml", "stack/production/nginx/jupyterhub.conf.template"

CAUGHT, MISSED, NOT_APPLIED, CONTROL_FAILED = "caught", "missed", "not applied", "control failed"
RESULTS = (CAUGHT, MISSED, NOT_APPLIED, CONTROL_FAILED)
# how a check failed (the deployment report's "failed_on", acceptance/report/model.py): only on its assertion is a catch
CONTROL_ENV = "MUTANTS_CONTROL"   # JSON {"out": path, "selections": {id: [-m expression, -k expression]}}


@dataclass(frozen=True)
class Mutant:
    id: str
    breakage: str                       # what is wrong, in words
    category: str                       # profile definition | hub config | compose file | images
    steps: tuple[str, ...]              # the steps that must fail
    edits: tuple[tuple[str, str, str], ...]   # (file, text, replacement): the text must occur exactly once
    select: str | None = None           # -k: the steps' checks that can see it (saves time)
    build: tuple[str, ...] = ()         # images/build.py names to build from the scratch copy
    smoke: bool = False                 # also run by .ci/run
    stack: str = "compose"              # --stack the steps run against
    args: tuple[str, ...] = ()          # more pytest options the steps need (L1: --load SCENARIO)
    build_fails: bool = False           # the scratch build must fail: that is the breakage (else: not applied)
    must_say: str | None = None         # a catching check's message must contain this

    @property
    def markexpr(self) -> str:
        """-m: the steps' markers."""
        return " or ".join(s.lower() for s in self.steps)

    @property
    def keyword(self) -> str:
        """The selection as one -k expression (-k matches marker names too): the control runs' building block."""
        return f"({self.markexpr}) and ({self.select})" if self.select else f"({self.markexpr})"

    @property
    def group(self) -> tuple[str, tuple[str, ...]]:
        """Breakages with the same group share one control run."""
        return self.stack, self.args


def _tag(mutant_id: str) -> str:
    return f"local/uv-marimo:mutant-{mutant_id}"


_VSCODE_2CPU = ("  - key: vscode-2cpu-4gb\n    name: uv VS Code - 2 CPU / 4GB\n    image: local/uv-vscode:latest\n"
                "    cpus: 2\n    memory: 4G\n    default_url: /vscode/\n    app: vscode\n")   # its entry


def _marimo_image(cpus: int, tag: str) -> tuple[str, str, str]:
    """The edit that gives the marimo profile with `cpus` the image `tag`."""
    return PROFILES, f"image: local/uv-marimo:latest\n    cpus: {cpus}\n", f"image: {tag}\n    cpus: {cpus}\n"


MUTANTS: tuple[Mutant, ...] = (
    # --- the profile definition: wrong but consistent (the platform configures itself from it)
    Mutant("p3-memory-doubled", '"uv Lab - 2 CPU / 4GB" is given 8G of memory', "profile definition", ("P3", "T8"),
           ((PROFILES, "    cpus: 2\n    memory: 4G\n    default_url: /lab\n",
             "    cpus: 2\n    memory: 8G\n    default_url: /lab\n"),), select="lab-2cpu-4g", smoke=True),
    Mutant("p3-cpu-halved", '"uv VS Code - 2 CPU / 4GB" is capped at 1 CPU', "profile definition", ("P3", "T8"),
           ((PROFILES, "    cpus: 2\n    memory: 4G\n    default_url: /vscode/\n",
             "    cpus: 1\n    memory: 4G\n    default_url: /vscode/\n"),), select="vscode-2cpu-4g"),
    Mutant("t5-marimo-lands-on-lab", '"uv Marimo - 1 CPU / 2GB" lands on JupyterLab', "profile definition",
           ("P3", "T5"), ((PROFILES, "    memory: 2G\n    default_url: /proxy/marimo/\n    app: marimo\n",
                           "    memory: 2G\n    default_url: /lab\n    app: lab\n"),),
           select="marimo-1cpu-2g or named_marimo"),
    Mutant("t2-profile-dropped", '"uv Marimo - 2 CPU / 4GB" is not offered', "profile definition", ("P3", "T2"),
           ((PROFILES, "  - key: marimo-2cpu-4gb\n    name: uv Marimo - 2 CPU / 4GB\n"
                       "    image: local/uv-marimo:latest\n    cpus: 2\n    memory: 4G\n"
                       "    default_url: /proxy/marimo/\n    app: marimo\n", ""),),
           select="exactly", smoke=True),
    Mutant("p3-memory-in-megabytes", "every profile's memory is written in decimal megabytes (4G as 4000M)",
           "profile definition", ("P3", "T8"),
           tuple((PROFILES, f"{before}    memory: {gb}G\n    default_url: {url}\n",
                  f"{before}    memory: {gb}000M\n    default_url: {url}\n")
                 for before, gb, url in (("    cpus: 2\n", 4, "/lab"), ("    cpus: 4\n", 8, "/lab"),
                                         ("", 4, "/vscode/"), ("", 8, "/vscode/"), ("", 2, "/proxy/marimo/"),
                                         ("", 4, "/proxy/marimo/"))),
           select="limits"),
    Mutant("p3-every-profile-lands-on-tree", "every profile's default_url is /tree (the file browser), not its app",
           "profile definition", ("P3",),
           tuple((PROFILES, f"    memory: {mem}\n    default_url: {url}\n",
                  f"    memory: {mem}\n    default_url: /tree\n")
                 for mem, url in (("4G", "/lab"), ("8G", "/lab"), ("4G", "/vscode/"), ("8G", "/vscode/"),
                                  ("2G", "/proxy/marimo/"), ("4G", "/proxy/marimo/"))),
           select="lands_on_its_app"),
    Mutant("t8-small-marimo-gets-2-cpus", '"uv Marimo - 1 CPU / 2GB" is capped at 2 CPUs', "profile definition",
           ("P3", "T8"), ((PROFILES, "    cpus: 1\n    memory: 2G\n", "    cpus: 2\n    memory: 2G\n"),),
           select="marimo-1cpu-2g or capped"),
    Mutant("t8-small-marimo-memory-typo", '"uv Marimo - 1 CPU / 2GB" is given 20G of memory (a typo for 2G)',
           "profile definition", ("T8",),
           ((PROFILES, "    cpus: 1\n    memory: 2G\n", "    cpus: 1\n    memory: 20G\n"),),
           select="past_the_memory_limit"),
    Mutant("p2-vscode-preselected", "the VS Code profile is listed first, so the spawn form preselects it",
           "profile definition", ("P2",),
           ((PROFILES, _VSCODE_2CPU, ""), (PROFILES, "profiles:\n", "profiles:\n" + _VSCODE_2CPU)),
           select="without_choosing"),
    Mutant("t4-vscode-runs-marimo-image", '"uv VS Code - 2 CPU / 4GB" runs the marimo image', "profile definition",
           ("T4",), ((PROFILES, "  - key: vscode-2cpu-4gb\n    name: uv VS Code - 2 CPU / 4GB\n"
                                "    image: local/uv-vscode:latest\n",
                      "  - key: vscode-2cpu-4gb\n    name: uv VS Code - 2 CPU / 4GB\n"
                      "    image: local/uv-marimo:latest\n"),)),
    Mutant("t3-lab-lands-on-tree", '"uv Lab - 2 CPU / 4GB" lands on /tree instead of /lab', "profile definition",
           ("T3",), ((PROFILES, "    cpus: 2\n    memory: 4G\n    default_url: /lab\n",
                      "    cpus: 2\n    memory: 4G\n    default_url: /tree\n"),), select="launcher_entries"),
    # --- the compose file
    Mutant("p2-hub-api-published", "the hub API port 8081 is published too (on loopback)", "compose file",
           ("P2", "R2"), ((COMPOSE, '      - "${HUB_BIND:-127.0.0.1}:${HUB_PORT:-8000}:8000"\n',
                           '      - "${HUB_BIND:-127.0.0.1}:${HUB_PORT:-8000}:8000"\n      - "127.0.0.1::8081"\n'),),
           select="publishes or only_the_proxy"),
    Mutant("p2-network-renamed", "the network is jupyterhub-network, not jupyterhub-net", "compose file", ("P2",),
           ((COMPOSE, "name: ${NAME_PREFIX:-}jupyterhub-net", "name: ${NAME_PREFIX:-}jupyterhub-network"),
            (CONFIG, 'f"{NAME_PREFIX}jupyterhub-net"', 'f"{NAME_PREFIX}jupyterhub-network"')), select="network"),
    # --- the swarm stack file
    Mutant("swarm-state-outside-the-volume", "on swarm, the hub's data volume is mounted at /srv/jupyterhub-data: "
           "its database and secrets land in the task's container", "swarm stack file", ("P2",),
           ((SWARM_STACK, "      - jupyterhub_data:/srv/jupyterhub\n",
             "      - jupyterhub_data:/srv/jupyterhub-data\n"),),
           select="state_lives", stack="swarm"),
    # --- the hub config
    Mutant("p2-state-outside-the-volume", "the hub database lives in /tmp, outside the data volume", "hub config",
           ("P2", "R3"), ((CONFIG, 'f"sqlite:///{DATA_DIR}/jupyterhub.sqlite"', '"sqlite:////tmp/jupyterhub.sqlite"'),),
           select="state_lives or compose_down"),
    Mutant("r3-missing-image-pulled", "the hub tries to pull a profile's missing image (pull_policy ifnotpresent)",
           "hub config", ("R3",), ((CONFIG, 'env("IMAGE_PULL_POLICY", "never")',
                                    'env("IMAGE_PULL_POLICY", "ifnotpresent")'),), select="missing_image"),
    Mutant("r4-production-signup-open", "production mode leaves self-signup open (open_signup True)", "hub config",
           ("R4",), ((CONFIG, "    c.NativeAuthenticator.open_signup = False\n",
                      "    c.NativeAuthenticator.open_signup = True\n"),), select="approves or only_listed"),
    Mutant("p2-hub-api-on-the-container-address", "the hub API listens on the container's network address only "
           "(JupyterHub 6.1.1 without hub_bind_url)", "hub config", ("P2",),
           ((CONFIG, 'c.JupyterHub.hub_bind_url = "http://0.0.0.0:8081"\n', ""),), select="listen_where"),
    Mutant("p2-servers-reach-the-hub-by-container-name", "user servers reach the hub at its container name, not at "
           "http://hub:8081", "hub config", ("P2",),
           ((CONFIG, 'env("HUB_CONNECT_URL", "http://hub:8081")',
             'env("HUB_CONNECT_URL", f"http://{NAME_PREFIX}jupyterhub-hub:8081")'),),
           select="connect_url"),
    Mutant("p2-plain-dockerspawner", "the hub spawns with plain DockerSpawner (no profiles)", "hub config", ("P2",),
           ((CONFIG, 'c.JupyterHub.spawner_class = "jhub_platform.spawner.PlatformProfilesSpawner"',
             'c.JupyterHub.spawner_class = "dockerspawner.DockerSpawner"'),), select="spawner_is"),
    Mutant("p2-bad-auth-mode-exits-silently", "a bad AUTH_MODE stops the hub without saying why", "hub config",
           ("P2",), ((CONFIG, "raise SystemExit(f\"AUTH_MODE must be 'bootstrap' or 'production', not "
                               "{AUTH_MODE!r}\")", "raise SystemExit(1)"),), select="bad_setting"),
    Mutant("p4-signup-disabled", "self-signup is switched off (NativeAuthenticator.enable_signup False): /hub/signup "
           "answers 404", "hub config", ("P4",),
           ((CONFIG, "c.NativeAuthenticator.check_common_password = True\n",
             "c.NativeAuthenticator.check_common_password = True\nc.NativeAuthenticator.enable_signup = False\n"),),
           select="pages_are_served"),
    Mutant("p4-signup-closed", "bootstrap mode with signup closed (open_signup False)", "hub config", ("P4",),
           ((CONFIG, "    c.NativeAuthenticator.open_signup = True", "    c.NativeAuthenticator.open_signup = False"),),
           select="auth_mode"),
    Mutant("p4-short-passwords", "4-character passwords accepted", "hub config", ("P4",),
           ((CONFIG, 'int(env("MIN_PASSWORD_LENGTH", "8"))', 'int(env("MIN_PASSWORD_LENGTH", "4"))'),),
           select="minimum_length", smoke=True),
    Mutant("r1-short-passwords", "5-character passwords accepted (minimum_password_length 4)", "hub config", ("R1",),
           ((CONFIG, 'int(env("MIN_PASSWORD_LENGTH", "8"))', 'int(env("MIN_PASSWORD_LENGTH", "4"))'),),
           select="bad_signup and short"),
    Mutant("t1-password-minimum-typo", "the minimum password length is 80 (a typo for 8): a 19-character password "
           "is refused", "hub config", ("T1",),
           ((CONFIG, 'int(env("MIN_PASSWORD_LENGTH", "8"))', 'int(env("MIN_PASSWORD_LENGTH", "80"))'),),
           select="signs_up_and_logs_in"),
    Mutant("t7-no-admin", "nobody is an admin", "hub config", ("P4", "T1", "T7"),
           ((CONFIG, "c.Authenticator.admin_users = {ADMIN_USER}", "c.Authenticator.admin_users = set()"),),
           select="admin_user_is_an_admin or admin_access or loads_and_lists"),
    Mutant("t7-admin-panel-one-user-a-page", "the hub API's pages hold one user (api_page_max_limit 1): the admin "
           "panel lists the first user only", "hub config", ("T7",),
           ((CONFIG, "c.JupyterHub.admin_access = True\n",
             "c.JupyterHub.admin_access = True\nc.JupyterHub.api_page_max_limit = 1\n"),),
           select="new_signup_appears"),
    Mutant("t7-stopped-containers-kept", "a stopped server's container is kept (DockerSpawner.remove False)",
           "hub config", ("T6", "T7"),
           ((CONFIG, "c.DockerSpawner.remove = True ", "c.DockerSpawner.remove = False "),),
           select="admin_stops or outlives_the_container"),
    Mutant("t6-notebooks-outside-the-home", "servers start in /tmp (notebook_dir), not in the home volume: a "
           "saved notebook is gone after a restart", "hub config", ("T6",),
           ((CONFIG, '"notebook_dir": NOTEBOOK_HOME}', '"notebook_dir": "/tmp"}'),),
           select="survives_a_server_stop"),
    Mutant("t6-home-not-a-volume", "user homes are not mounted volumes", "hub config", ("R3", "T6"),
           ((CONFIG, 'c.DockerSpawner.volumes = {f"{NAME_PREFIX}jupyterhub-user-{{username}}": NOTEBOOK_HOME}',
             "c.DockerSpawner.volumes = {}"),), select="named_volume or killed"),
    Mutant("r1-no-account-lock", "failed logins never lock an account", "hub config", ("R1",),
           ((CONFIG, 'int(env("LOGIN_MAX_FAILURES", "5"))', 'int(env("LOGIN_MAX_FAILURES", "0"))'),), select="lock"),
    Mutant("r2-containers-keep-capabilities", "user containers keep their capabilities and may gain privileges",
           "hub config", ("R2",), ((CONFIG, 'c.DockerSpawner.extra_host_config = {"security_opt": '
                                            '["no-new-privileges"], "cap_drop": ["ALL"]}',
                                    "c.DockerSpawner.extra_host_config = {}"),), select="unprivileged"),
    Mutant("r7-no-hsts", "the production proxy sends no Strict-Transport-Security header", "compose file", ("R7",),
           (("stack/production/nginx/jupyterhub.conf.template",
             'add_header Strict-Transport-Security "max-age=63072000; includeSubDomains" always;', ""),),
           select="hsts", stack="production"),
    Mutant("r7-no-websocket-upgrade", "the production proxy does not pass websocket upgrades (no Upgrade and "
           "Connection headers)", "compose file", ("R7",),
           ((NGINX, "        proxy_set_header Upgrade $http_upgrade;\n        proxy_set_header Connection "
                    "$connection_upgrade;\n", ""),), select="websockets", stack="production"),
    Mutant("r7-proxy-drops-the-scheme", "the production proxy does not tell the hub the request came over HTTPS "
           "(no X-Scheme, X-Forwarded-Proto)", "compose file", ("R7",),
           ((NGINX, "        proxy_set_header X-Scheme $scheme;\n", ""),
            (NGINX, "        proxy_set_header X-Forwarded-Proto $scheme;\n", "")), select="cookies",
           stack="production"),
    Mutant("r7-hub-published", "the production hub publishes its port 8000 too (on loopback), beside the TLS proxy",
           "compose file", ("R7",),
           ((PROD_COMPOSE, "    container_name: ${NAME_PREFIX:-}jupyterhub-hub\n",
             '    container_name: ${NAME_PREFIX:-}jupyterhub-hub\n    ports:\n      - "127.0.0.1::8000"\n'),),
           select="only_it_is_published", stack="production"),
    Mutant("r7-backup-of-the-wrong-database", "backup.sh dumps PostgreSQL's postgres database, not the hub's",
           "compose file", ("R7",),
           (("stack/production/backup.sh", "exec -T db db-backup >", "exec -T db db-backup postgres >"),),
           select="backup", stack="production"),
    Mutant("r7-metrics-open", "/hub/metrics answers anyone (authenticate_prometheus False)", "hub config", ("R7",),
           ((CONFIG, "c.JupyterHub.authenticate_prometheus = True", "c.JupyterHub.authenticate_prometheus = False"),),
           select="metrics_need", stack="production"),
    Mutant("r7-no-pids-limit", "user containers have no pids limit", "hub config", ("R7",),
           ((CONFIG, 'c.DockerSpawner.extra_host_config["pids_limit"] = int(env("USER_PIDS_LIMIT", "1024"))\n', ""),),
           select="pids_limit", stack="production"),
    Mutant("r7-sqlite-database", "the production hub keeps SQLite in its volume (DATABASE_URL defaults to it)",
           "compose file", ("R7",), ((PROD_COMPOSE, "      DATABASE_URL: ${DATABASE_URL:-}\n",
                                      "      DATABASE_URL: ${DATABASE_URL:-sqlite:////srv/jupyterhub/jupyterhub.sqlite}\n"),),
           select="postgresql", stack="production"),
    Mutant("r7-certificate-not-kept", "the proxy's start removes the pair kept in its volume (an entrypoint "
           "override): a re-created proxy serves a new certificate", "compose file", ("R7",),
           ((PROD_COMPOSE, "    image: ${PROXY_IMAGE:-local/jupyterhub-proxy:latest}\n",
             "    image: ${PROXY_IMAGE:-local/jupyterhub-proxy:latest}\n"
             '    entrypoint: ["sh", "-c", "rm -f /etc/nginx/tls/tls.crt /etc/nginx/tls/tls.key && '
             'exec /usr/local/bin/proxy-entrypoint"]\n'),),
           select="recreated", stack="production"),
    Mutant("l1-spawn-timeout-2s", "a spawn is given up after 2 s (Spawner.start_timeout)", "hub config", ("L1",),
           ((CONFIG, 'env("SPAWNER_START_TIMEOUT", "300")', 'env("SPAWNER_START_TIMEOUT", "2")'),),
           args=("--load", "acceptance/load/scenarios/smoke.yaml")),
    Mutant("r3-servers-die-with-the-hub", "a hub restart stops every user server (cleanup_servers)", "hub config",
           ("R3",), ((CONFIG, "c.JupyterHub.cleanup_servers = False", "c.JupyterHub.cleanup_servers = True"),),
           select="hub_restart"),
    Mutant("r4-allowed-users-ignored", "production mode ignores ALLOWED_USERS", "hub config", ("R4",),
           ((CONFIG, 'c.Authenticator.allowed_users = {u.strip() for u in env("ALLOWED_USERS", "").split(",") '
                     'if u.strip()} | {\n        ADMIN_USER\n    }', "c.Authenticator.allowed_users = {ADMIN_USER}"),),
           select="only_listed"),
    Mutant("r4-second-factor-ignored", "a custom authenticator checks the password only: the one-time code of a "
           "user with two-factor login is never asked for", "hub config", ("R4",),
           ((CONFIG, 'c.JupyterHub.authenticator_class = "jhub_platform.auth.PlatformAuthenticator"\n',
             "from jhub_platform.auth import PlatformAuthenticator as _Platform  # noqa: E402\n\n\n"
             "class _PasswordOnly(_Platform):\n"
             "    async def authenticate(self, handler, data):\n"
             '        user = self.get_user(self.normalize_username(data["username"]))\n'
             '        if user is not None and user.is_authorized and user.is_valid_password(data["password"]):\n'
             "            return user.username\n\n\n"
             "c.JupyterHub.authenticator_class = _PasswordOnly\n"),),
           select="two_factor"),
    Mutant("r5-proxy-token-per-start", "the proxy token is made anew at every start, not kept in the volume",
           "hub config", ("R5",), ((CONFIG, 'persistent_secret(DATA_DIR / "proxy_auth_token")',
                                    "secrets.token_hex(32)"),), select="first_start or restart_keeps"),
    Mutant("r6-xsrf-off", "the hub does not check XSRF tokens (tornado's xsrf_cookies off)", "hub config", ("R6",),
           ((CONFIG, "c.JupyterHub.admin_access = True\n",
             'c.JupyterHub.admin_access = True\nc.JupyterHub.tornado_settings = {"xsrf_cookies": False}\n'),),
           select="xsrf"),
    Mutant("r6-any-image", "user_options may name any image (allowed_images '*')", "hub config", ("R6",),
           ((CONFIG, "c.DockerSpawner.allowed_images = []", 'c.DockerSpawner.allowed_images = "*"'),),
           select="user_options"),
    Mutant("r6-framing-allowed", "hub pages may be framed by any site (CSP frame-ancestors *)", "hub config",
           ("R2", "R6"), ((CONFIG, "c.JupyterHub.admin_access = True\n",
                           'c.JupyterHub.admin_access = True\nc.JupyterHub.tornado_settings = {"headers": '
                           '{"Content-Security-Policy": "frame-ancestors *"}}\n'),), select="security_headers or csp"),
    Mutant("r2-users-read-others-tokens", "every user may read any user's record and read and make anyone's tokens "
           "(extra_user_scopes read:users, tokens)", "hub config", ("R2",),
           ((CONFIG, "c.JupyterHub.load_roles = roles\n",
             'c.JupyterHub.load_roles = roles\nc.JupyterHub.extra_user_scopes = ["read:users", "tokens"]\n'),),
           select="cannot_reach"),
    Mutant("r2-users-list-users", "every user may list all users (extra_user_scopes list:users, a user directory)",
           "hub config", ("R2",), ((CONFIG, "c.JupyterHub.load_roles = roles\n",
                                    "c.JupyterHub.load_roles = roles\n"
                                    'c.JupyterHub.extra_user_scopes = ["list:users"]\n'),),
           select="non_admin"),
    Mutant("r2-users-open-all-servers", "every user may open every user's server (extra_user_scopes access:servers)",
           "hub config", ("R2",), ((CONFIG, "c.JupyterHub.load_roles = roles\n",
                                    "c.JupyterHub.load_roles = roles\n"
                                    'c.JupyterHub.extra_user_scopes = ["access:servers"]\n'),),
           select="cannot_reach or sees_no_server"),
    Mutant("r1-any-username", "any username is accepted (the platform's username_pattern is not set)", "hub config",
           ("R1",), ((CONFIG, "c.Authenticator.username_pattern = USERNAME_PATTERN\n", ""),),
           select="bad_signup and (long or unicode or payload or spaces or slash)"),
    Mutant("r1-common-passwords-accepted", "common passwords are accepted (check_common_password False)",
           "hub config", ("R1",), ((CONFIG, "c.NativeAuthenticator.check_common_password = True",
                                    "c.NativeAuthenticator.check_common_password = False"),), select="common"),
    Mutant("r6-hub-log-errors-only", "the hub logs errors only (failed logins never reach its log)", "hub config",
           ("R6",), ((CONFIG, "c.JupyterHub.admin_access = True\n",
                      'c.JupyterHub.admin_access = True\nc.JupyterHub.log_level = "ERROR"\n'),), select="flood"),
    Mutant("l1-marimo-url-serves-lab", '"uv Marimo - 1 CPU / 2GB" opens /lab (JupyterLab answers, HTTP 200) though '
           "its app is marimo", "profile definition", ("L1",),
           ((PROFILES, "    memory: 2G\n    default_url: /proxy/marimo/\n    app: marimo\n",
             "    memory: 2G\n    default_url: /lab\n    app: marimo\n"),),
           args=("--load", "acceptance/load/scenarios/smoke.yaml")),
    # --- the images
    Mutant("p1-stale-image", "the single-user Dockerfile changed and the images were not rebuilt", "images", ("P1",),
           ((DOCKERFILE, "FROM uv-vscode AS uv-lab\n", "FROM uv-vscode AS uv-lab\n# changed after the build\n"),),
           select="built_from_this_checkout", smoke=True),
    Mutant("p1-broken-build", "the uv-marimo image does not build", "images", ("P1",),
           ((DOCKERFILE, "FROM common AS uv-marimo\n", "FROM common AS uv-marimo\nRUN exit 3\n"),),
           select="built_from_this_checkout", build=("uv-marimo",), build_fails=True,
           must_say="the build of local/uv-marimo:latest failed"),
    Mutant("t5-marimo-moved", "the marimo image serves marimo at /marimo-app/, not /proxy/marimo/", "images", ("T5",),
           ((SERVER_CONFIG, '    "proxy/marimo": {', '    "marimo-app": {'),
            # both marimo profiles use the mutant's tag: local/uv-marimo:latest is never rebuilt from the copy
            *(_marimo_image(cpus, _tag("t5-marimo-moved")) for cpus in (1, 2))),
           select="named_marimo", build=("uv-marimo",)),
    # --- the log pipeline (R8)
    Mutant("r8-no-rotation", "the log collector never rotates (LOG_MAX_SIZE fixed at 1 TiB, whatever the setting)",
           "compose file", ("R8",), ((COMPOSE, "    LOG_MAX_SIZE: ${LOG_MAX_SIZE:-}\n", "    LOG_MAX_SIZE: 1t\n"),),
           select="rotation"),
    Mutant("r8-user-logs-not-collected", "user servers log with Docker's default driver (the spawner's log_config "
           "dropped): a removed server's log goes with its container", "hub config", ("R8",),
           ((CONFIG, 'c.DockerSpawner.extra_host_config["log_config"] = {', "_log_config_dropped = {"),),
           select="killed_and_removed"),
    Mutant("r8-hub-not-collected", "the hub logs with Docker's default driver: its log goes with its container",
           "compose file", ("R8",),
           ((COMPOSE, "    container_name: ${NAME_PREFIX:-}jupyterhub-hub\n    restart: unless-stopped\n"
                      "    logging: *logging\n",
             "    container_name: ${NAME_PREFIX:-}jupyterhub-hub\n    restart: unless-stopped\n"),),
           select="re_creation"),
    Mutant("r8-logs-mounted-into-user-servers", "the collector's volume is mounted (read-only) into every user server",
           "hub config", ("R8",),
           ((CONFIG, 'c.DockerSpawner.volumes = {f"{NAME_PREFIX}jupyterhub-user-{{username}}": NOTEBOOK_HOME}',
             'c.DockerSpawner.volumes = {f"{NAME_PREFIX}jupyterhub-user-{{username}}": NOTEBOOK_HOME, '
             'f"{NAME_PREFIX}jupyterhub-logs": {"bind": "/var/log/platform", "mode": "ro"}}'),),
           select="cannot_read"),
)


# Checks a unit test makes fail on their assertion (the check's own function called with a wrong deployment):
# check id -> the unit tests' node ids. The coverage table counts them as seen failing beside the breakages;
# acceptance/unit/test_mutants.py verifies each named unit test exists and calls the check's function.
_P1_BUILD = "test_p1_images.py::test_image_is_built_from_this_checkout"
_P1_UNIT = "acceptance/unit/test_check_failures.py::test_the_build_check_fails_on_"
_UNIT = "acceptance/unit/test_check_failures.py::"
_P3_UNIT = f"{_UNIT}test_the_imports_check_fails_"
UNIT_CATCHES: dict[str, tuple[str, ...]] = {
    f"{_P1_BUILD}[{tag}]": (f"{_P1_UNIT}a_stale_image[{tag}]",
                            f"{_P1_UNIT}an_image_whose_build_failed_in_this_run[{tag}]")
    for tag in ("local/uv-lab:latest", "local/uv-vscode:latest", "local/uv-marimo:latest",
                "local/jupyterhub-hub:latest")
} | {
    f"test_p3_profiles.py::test_profile_python_imports_its_packages[{pid}]": (
        f"{_P3_UNIT}when_the_servers_python_does_not_run[{pid}]",
        f"{_P3_UNIT}on_a_module_that_does_not_import_and_a_command_not_on_path[{pid}]")
    for pid in ("lab-2cpu-4g", "lab-4cpu-8g", "vscode-2cpu-4g", "vscode-4cpu-8g", "marimo-1cpu-2g", "marimo-2cpu-4g")
} | {
    f"test_p1_images.py::test_single_user_image_runs_jupyterhub_singleuser_as_nebula[{tag}]": tuple(
        f"{_UNIT}test_the_singleuser_image_check_fails_on_an_image_not_run_as_nebula[{case}-{tag}]"
        for case in ("working-dir", "command", "root"))
    for tag in ("local/uv-lab:latest", "local/uv-vscode:latest", "local/uv-marimo:latest")
} | {"test_p1_images.py::test_image_sizes_are_recorded": (
    f"{_UNIT}test_the_size_check_fails_on_images_larger_than_their_bounds",),
    "test_p4_auth.py::test_authenticator_is_native_authenticator_on_a_supported_jupyterhub": (
        f"{_UNIT}test_the_authenticator_check_fails_on_an_authenticator_that_is_not_native",
        f"{_UNIT}test_the_authenticator_check_fails_on_a_jupyterhub_older_than_the_specification"),
    "test_p2_reachability.py::test_the_hub_answers_its_health_check_and_api": tuple(
        f"{_UNIT}test_the_reachability_check_fails_on_an_unhealthy_or_old_hub[{case}]"
        for case in ("unhealthy", "old")),
    "test_l1_load.py::test_the_hubs_own_metrics_agree_with_what_the_users_measured": (
        f"{_UNIT}test_the_load_metrics_check_fails_when_the_hub_counts_fewer_spawns_than_the_users_saw",),
    "test_l1_load.py::test_the_load_leaves_no_user_server_or_volume": (
        f"{_UNIT}test_the_load_cleanup_check_fails_on_users_left_behind",),
    "test_r6_advisories.py::test_ghsa_3vff_hjqv_m7h8_next_never_redirects_off_the_hub": (
        f"{_UNIT}test_the_open_redirect_check_fails_on_a_hub_that_follows_next_off_the_hub",),
    "test_r6_advisories.py::test_ghsa_w3vc_fx9p_wp4v_proxied_apps_refuse_anonymous_websockets": (
        f"{_UNIT}test_the_websocket_check_fails_on_proxied_apps_that_take_anonymous_websockets",),
    "test_r6_advisories.py::test_ghsa_h56g_gq9v_vc8r_api_errors_carry_no_traceback": (
        f"{_UNIT}test_the_traceback_check_fails_on_api_errors_that_carry_the_traceback",),
    "test_r6_advisories.py::test_ghsa_c4gm_pwx9_9w8j_next_is_escaped_in_login_spawn_and_accept_share": (
        f"{_UNIT}test_the_next_escaping_check_fails_on_pages_that_render_next_live",),
    "test_r2_transport.py::test_the_tls_certificate_is_valid_and_not_about_to_expire": (
        f"{_UNIT}test_the_certificate_check_fails_on_a_certificate_about_to_expire",),
    "test_r2_isolation.py::test_another_user_in_the_browser_sees_no_server_of_anothers": (
        f"{_UNIT}test_the_browser_isolation_check_fails_when_bob_reaches_alices_lab",),
    "test_t8_resource_limits.py::test_cpu_use_is_capped_at_the_profile_quota": (
        f"{_UNIT}test_the_cpu_cap_check_fails_on_a_container_that_uses_more_than_its_cap",),
    "test_r7_production.py::test_hub_and_database_restarts_lose_no_user_server_or_token": (
        f"{_UNIT}test_the_restart_check_fails_when_the_restarts_lose_a_token",),
    "test_r7_production.py::test_the_culler_stops_an_idle_server_keeps_an_active_one_and_files_survive": (
        f"{_UNIT}test_the_culler_check_fails_when_the_culler_stops_the_active_server_too",),
    "test_p2_stack.py::test_named_servers_run_side_by_side": (
        f"{_UNIT}test_the_named_servers_check_fails_when_a_named_server_stops_the_default_one",),
    "test_p2_stack.py::test_the_admin_reaches_a_users_server": (
        f"{_UNIT}test_the_admin_access_check_fails_when_the_admin_gets_403_at_a_users_server",),
    "test_t3_lab_profile.py::test_launcher_vscode_entry_opens_vscode": (
        f"{_UNIT}test_the_launcher_vscode_check_fails_when_the_entry_opens_something_else",),
    "test_t3_lab_profile.py::test_launcher_marimo_entry_opens_marimo": (
        f"{_UNIT}test_the_launcher_marimo_check_fails_when_the_entry_opens_something_else",),
    "test_r7_production.py::test_spawn_metrics_move_with_spawns_and_buckets_cover_the_slowest": tuple(
        f"{_UNIT}test_the_spawn_metrics_check_fails_on_a_hub_whose_metrics_miss_the_spawn[{case}]"
        for case in ("not-counted", "slower-than-the-buckets")),
    "test_r1_bad_input.py::test_empty_username_is_refused_by_the_form_and_the_hub": (
        f"{_UNIT}test_the_empty_username_check_fails_when_the_browser_sends_an_empty_signup",),
    "test_r1_bad_input.py::test_empty_login_form_is_refused": (
        f"{_UNIT}test_the_empty_login_check_fails_when_the_browser_sends_an_empty_login",),
    "test_r5_secrets.py::test_secrets_are_in_no_repository_file_image_or_container_setting": (
        f"{_UNIT}test_the_secrets_scan_fails_on_a_secret_committed_to_the_repository",),
    "test_r5_secrets.py::test_two_fresh_stacks_get_different_secrets": (
        f"{_UNIT}test_the_fresh_stacks_check_fails_when_two_stacks_share_their_secrets",),
} | {
    f"test_r1_bad_input.py::test_bad_signup_is_refused_clearly_and_changes_nothing[{case}]": (
        f"{_UNIT}test_the_bad_signup_check_fails_on_a_hub_that_accepts_every_signup[{case}]",)
    for case in ("short password", "common password", "mismatched confirmation", "taken username",
                 "taken username in uppercase", "too long username", "username with spaces", "username with a slash",
                 "unicode username", "script payload username", "markup payload username")
} | {
    f"test_r1_bad_input.py::test_bad_login_is_refused_clearly_and_changes_nothing[{case}]": (
        f"{_UNIT}test_the_bad_login_check_fails_on_a_hub_that_refuses_no_login[{case}]",)
    for case in ("wrong password", "unknown user", "empty password", "markup payload username",
                 "script payload username")
}


@dataclass
class Control:
    """A breakage's control: its selection against the unbroken platform."""
    ok: bool = False
    run: str = ""                                     # the control run: its id and start (control-compose@<iso>)
    checks: list[str] = field(default_factory=list)   # the check ids it selected
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"ok": self.ok, "run": self.run, "checks": self.checks, "problems": self.problems}


@dataclass
class Outcome:
    mutant: Mutant
    result: str = MISSED
    failed_steps: list[str] = field(default_factory=list)
    catches: list[dict] = field(default_factory=list)   # {"check_id", "step", "message"}: failed on its assertion
    message: str = ""
    duration_s: float = 0.0
    control: Control | None = None

    @property
    def caught(self) -> bool:
        return self.result == CAUGHT

    @property
    def applied(self) -> bool:
        return self.result in (CAUGHT, MISSED)

    def row(self) -> dict:
        m = self.mutant
        return {"id": m.id, "breakage": m.breakage, "category": m.category, "stack": m.stack,
                "expected_steps": list(m.steps), "result": self.result, "caught": self.caught,
                "applied": self.applied, "failed_steps": self.failed_steps, "catches": self.catches,
                "control": self.control.as_dict() if self.control else None, "message": self.message,
                "duration_s": round(self.duration_s, 1)}


def scratch_copy(mutant: Mutant, into: Path) -> Path:
    """stack/ and images/ copied into `into`, with the mutant's edits applied (each must match once)."""
    for part in ("stack", "images"):
        shutil.copytree(ROOT / part, into / part, ignore=shutil.ignore_patterns("__pycache__", ".env"))
    for rel, text, replacement in mutant.edits:
        path = into / rel
        content = path.read_text()
        if content.count(text) != 1:
            raise ValueError(f"{mutant.id}: {rel} holds the text to break {content.count(text)} times, not once: "
                             f"{text!r}")
        path.write_text(content.replace(text, replacement))
    return into


# ---------------------------------------------------------------- reading a run's deployment-report.json

def _first_line(text: str) -> str:
    return next((line.strip() for line in str(text).splitlines() if line.strip()), "")


def check_id_of(check: dict) -> str:
    """The check's id: the report's "check_id", else the one its node id gives (acceptance.required.check_id)."""
    return check.get("check_id") or check_id(str(check.get("nodeid", "")))


def failed_on(check: dict) -> str | None:
    """How the check failed: the report's "failed_on" (assertion, exception, setup, teardown; None: it did not
    fail). A check without the field (a report from a harness before it) failed on nothing this run can tell, so
    it is never a catch: the self-test fails closed."""
    return check.get("failed_on")


def _checks(report: dict) -> list[dict]:
    """Every check of the report, each with its step id ("step")."""
    return [{**c, "step": s["id"]} for s in report.get("steps", []) for c in s.get("checks", [])]


def _describe(check: dict) -> str:
    how = failed_on(check)
    status = check.get("status", "?")
    state = f"{status} ({'on its ' + how if how == ON_ASSERTION else 'in ' + how if how else status})" \
        if how else status
    message = _first_line(check.get("message", ""))
    return f"{check_id_of(check)}: {state}" + (f": {message[:240]}" if message else "")


def classify(mutant: Mutant, report: dict) -> Outcome:
    """The breakage's result from its run's deployment report (the build and pytest's exit were looked at
    before): not applied when the stack did not start, the session was interrupted or no check got past its
    setup; caught when every named step has a check that failed on its assertion (saying `must_say`, if set)."""
    outcome = Outcome(mutant)
    checks = _checks(report)
    outcome.failed_steps = [s["id"] for s in report.get("steps", []) if s.get("status") == "failed"]
    outcome.catches = [{"check_id": check_id_of(c), "step": c["step"], "message": _first_line(c.get("message", ""))}
                       for c in checks if c["step"] in mutant.steps and failed_on(c) == ON_ASSERTION]
    if report.get("stack_error"):
        outcome.result = NOT_APPLIED
        outcome.message = f"the stack did not start: {_first_line(report['stack_error'])}"
        return outcome
    if report.get("interrupted"):
        outcome.result = NOT_APPLIED
        outcome.message = f"the session was interrupted: {report['interrupted']}"
        return outcome
    # got to their call phase: passed, failed in it, or errored only in their teardown
    ran = [c for c in checks if c.get("status") in ("passed", "failed", "xpass") or failed_on(c) == ON_TEARDOWN]
    if not ran:
        outcome.result = NOT_APPLIED
        seen = "; ".join(dict.fromkeys(_describe(c) for c in checks)) or "no check in the report"
        outcome.message = f"no check got past its setup: {seen}"
        return outcome
    caught_steps = {c["step"] for c in outcome.catches}
    saying = [c for c in outcome.catches if not mutant.must_say or mutant.must_say in c["message"]]
    if set(mutant.steps) <= caught_steps and saying:
        outcome.result = CAUGHT
        shown = saying if mutant.must_say else outcome.catches
        outcome.message = " | ".join(f"{c['step']} {c['check_id']}: {c['message'][:240]}" for c in shown)
        return outcome
    outcome.result = MISSED
    parts = []
    for sid in mutant.steps:
        mine = [c for c in checks if c["step"] == sid]
        if not mine:
            parts.append(f"{sid}: no check ran")
        elif sid not in caught_steps:
            counts = {}
            for c in mine:
                key = c.get("status", "?") if failed_on(c) is None else f"{c['status']} in {failed_on(c)}"
                counts[key] = counts.get(key, 0) + 1
            bad = [_describe(c) for c in mine if failed_on(c)]
            parts.append(f"{sid}: no check failed on its assertion ("
                         + ", ".join(f"{n} {k}" for k, n in counts.items()) + ")"
                         + (f": {'; '.join(bad)}" if bad else ""))
    if mutant.must_say and not saying and caught_steps:
        parts.append(f"no catching check says {mutant.must_say!r}: "
                     + "; ".join(f"{c['check_id']}: {c['message'][:160]}" for c in outcome.catches))
    outcome.message = " | ".join(parts)
    return outcome


def build_verdict(mutant: Mutant, returncode: int, log_tail: str) -> str | None:
    """Why the scratch build leaves the breakage not applied (None: it did what the breakage needs)."""
    if mutant.build_fails and returncode == 0:
        return f"the scratch build of {', '.join(mutant.build)} was to fail (that is the breakage) and succeeded"
    if not mutant.build_fails and returncode != 0:
        return f"the scratch build of {', '.join(mutant.build)} failed (exit {returncode}): {log_tail}"
    return None


# ---------------------------------------------------------------- running a breakage

def _pytest_cmd(outdir: Path, stack: str, args: Iterable[str]) -> list[str]:
    cmd = [sys.executable, "-m", "pytest", "acceptance/tests", "-p", "no:cacheprovider",
           "--report-dir", str(outdir), f"--junitxml={outdir / 'junit.xml'}",
           f"--html={outdir / 'pytest-report.html'}", f"--output={outdir / 'artifacts'}"]
    if stack != "compose":
        cmd += ["--stack", stack]
    return cmd + list(args)


def _env() -> dict[str, str]:
    env = {**os.environ, "TESTCONTAINERS_RYUK_DISABLED": "true", "DOCKER_BUILDKIT": "0"}
    for name in ("IMAGE_BUILD_STATUS", "PLATFORM_ROOT", CONTROL_ENV):
        env.pop(name, None)
    return env


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " / ".join(line.strip() for line in text[-lines:])


def run_mutant(mutant: Mutant, reports: Path, control: Control | None = None) -> Outcome:
    start = time.monotonic()
    outdir = reports / "mutants" / mutant.id
    shutil.rmtree(outdir, ignore_errors=True)
    outdir.mkdir(parents=True)
    env = _env()

    def not_applied(message: str) -> Outcome:
        return Outcome(mutant, NOT_APPLIED, message=message, duration_s=time.monotonic() - start, control=control)

    with tempfile.TemporaryDirectory(prefix=f"mutant-{mutant.id}-") as tmp:
        try:
            scratch = scratch_copy(mutant, Path(tmp))
            env["PLATFORM_ROOT"] = str(scratch)
            if mutant.build:
                env["IMAGE_BUILD_STATUS"] = str(outdir / "image-build.json")
                with open(outdir / "build.log", "w") as log:
                    built = subprocess.run([sys.executable, str(scratch / "images" / "build.py"), *mutant.build,
                                            "--status-file", env["IMAGE_BUILD_STATUS"]], env=env, stdout=log,
                                           stderr=subprocess.STDOUT, cwd=ROOT)
                why = build_verdict(mutant, built.returncode, _tail(outdir / "build.log"))
                if why:
                    return not_applied(why)
            cmd = _pytest_cmd(outdir, mutant.stack, ["-m", mutant.markexpr, *mutant.args])
            if mutant.select:
                cmd += ["-k", mutant.select]
            with open(outdir / "run.log", "w") as log:
                proc = subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
            if proc.returncode == PYTEST_NO_TESTS:
                return not_applied(f"-m {mutant.markexpr!r} -k {mutant.select!r} selects no check")
            report = json.loads((outdir / "deployment-report.json").read_text())
        except Exception as exc:  # noqa: BLE001 - a breakage that could not run is reported, not raised
            return not_applied(f"the breakage did not run: {type(exc).__name__}: {exc}")
        finally:
            _remove_mutant_images(mutant)
    outcome = classify(mutant, report)
    outcome.control, outcome.duration_s = control, time.monotonic() - start
    return outcome


def _remove_mutant_images(mutant: Mutant) -> None:
    if mutant.build:
        subprocess.run(["docker", "image", "rm", "-f", _tag(mutant.id)], capture_output=True)


# ---------------------------------------------------------------- the control runs

def control_groups(mutants: Iterable[Mutant]) -> list[tuple[str, list[Mutant]]]:
    """(control run id, its breakages): one per --stack/args combination, in the breakages' order."""
    groups: dict[tuple, list[Mutant]] = {}
    for m in mutants:
        groups.setdefault(m.group, []).append(m)
    out = []
    for (stack, args), members in groups.items():
        words = [re.sub(r"[^A-Za-z0-9]+", "-", Path(a).stem).strip("-") for a in args]
        out.append(("-".join(["control", stack, *filter(None, words)]), members))
    return out


def control_keyword(mutants: Iterable[Mutant]) -> str:
    """One -k for the group: the OR of each breakage's `(step markers) and (select)`."""
    return " or ".join(f"({m.keyword})" for m in mutants)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In a control run (`-p acceptance.mutants` with MUTANTS_CONTROL set): which items each breakage's own
    `-m markers -k select` selects, by pytest's own matching (the group's -k is a superset: it matches marker
    names as substrings); items no breakage selects are deselected. Written as JSON to the given path."""
    spec = os.environ.get(CONTROL_ENV)
    if not spec:
        return
    from _pytest.mark import KeywordMatcher, MarkMatcher
    from _pytest.mark.expression import Expression

    wanted = json.loads(spec)
    compiled = {mid: (Expression.compile(m), Expression.compile(k) if k else None)
                for mid, (m, k) in wanted["selections"].items()}
    selected: dict[str, list[str]] = {mid: [] for mid in compiled}
    keep, extra = [], []
    for item in items:
        marks, words = MarkMatcher.from_markers(item.iter_markers()), KeywordMatcher.from_item(item)
        hits = [mid for mid, (m, k) in compiled.items() if m.evaluate(marks) and (k is None or k.evaluate(words))]
        for mid in hits:
            selected[mid].append(item.nodeid)
        (keep if hits else extra).append(item)
    if extra:
        items[:] = keep
        config.hook.pytest_deselected(items=extra)
    Path(wanted["out"]).write_text(json.dumps({"selected": selected, "extra": [i.nodeid for i in extra]}, indent=2))


def control_verdicts(mutants: list[Mutant], run_id: str, report: dict | None, selected: dict[str, list[str]] | None,
                     problem: str | None = None) -> dict[str, Control]:
    """Each breakage's control from the group's report and selection: green when every check its selection
    names passed and each of its steps has one; the whole group fails on a run-level problem (no report, the
    stack did not start, an interrupted session, a report that is not PARTIAL though every check passed)."""
    if problem is None and report is None:
        problem = "the control run wrote no deployment report"
    if problem is None and selected is None:
        problem = "the control run did not record its selection (was the -p acceptance.mutants plugin loaded?)"
    if problem is None and report.get("stack_error"):
        problem = f"the stack did not start: {_first_line(report['stack_error'])}"
    if problem is None and report.get("interrupted"):
        problem = f"the session was interrupted: {report['interrupted']}"
    checks = {c.get("nodeid"): c for c in _checks(report or {})}
    if problem is None and checks and all(c.get("status") == "passed" for c in checks.values()) \
            and report.get("status") != "PARTIAL":
        problem = f"report status {report.get('status')}, not PARTIAL: " + "; ".join(report.get("reasons") or [])
    out = {}
    for m in mutants:
        nodeids = (selected or {}).get(m.id, [])
        control = Control(run=run_id, checks=[check_id_of({"nodeid": n, **checks.get(n, {})}) for n in nodeids])
        if problem:
            control.problems.append(problem)
        else:
            if not nodeids:
                control.problems.append(f"-m {m.markexpr!r} -k {m.select!r} selects no check")
            for sid in m.steps:
                if nodeids and not any(checks.get(n, {}).get("step") == sid for n in nodeids):
                    control.problems.append(f"{sid}: no selected check")
            for n in nodeids:
                c = checks.get(n)
                if c is None:
                    control.problems.append(f"{check_id_of({'nodeid': n})}: not in the report")
                elif c.get("status") != "passed":
                    control.problems.append(_describe(c))
        control.ok = not control.problems
        out[m.id] = control
    return out


def run_control(run_id: str, mutants: list[Mutant], reports: Path) -> tuple[dict, dict[str, Control]]:
    """One control run for breakages of one --stack/args: their selections against the unbroken platform."""
    start, ref = time.monotonic(), f"{run_id}@{time.strftime('%Y-%m-%dT%H:%M:%S%z')}"
    outdir = reports / "mutants" / run_id
    shutil.rmtree(outdir, ignore_errors=True)
    outdir.mkdir(parents=True)
    stack, args = mutants[0].group
    keyword = control_keyword(mutants)
    selection_file = outdir / "selection.json"
    env = {**_env(), CONTROL_ENV: json.dumps({"out": str(selection_file),
                                              "selections": {m.id: [m.markexpr, m.select] for m in mutants}})}
    cmd = _pytest_cmd(outdir, stack, ["-p", "acceptance.mutants", *args, "-k", keyword])
    report = selected = problem = None
    try:
        with open(outdir / "run.log", "w") as log:
            proc = subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        if proc.returncode == PYTEST_NO_TESTS:
            problem = f"-k {keyword!r} selects no check"
        if selection_file.exists():
            selected = json.loads(selection_file.read_text())["selected"]
        report_file = outdir / "deployment-report.json"
        if report_file.exists():
            report = json.loads(report_file.read_text())
    except Exception as exc:  # noqa: BLE001 - a control that could not run fails its breakages
        problem = f"the control did not run: {type(exc).__name__}: {exc}"
    verdicts = control_verdicts(mutants, ref, report, selected, problem)
    record = {"id": run_id, "ref": ref, "stack": stack, "args": list(args), "keyword": keyword,
              "breakages": [m.id for m in mutants], "status": (report or {}).get("status"),
              "checks": sum(len(v) for v in (selected or {}).values()), "ok": all(v.ok for v in verdicts.values()),
              "duration_s": round(time.monotonic() - start, 1)}
    return record, verdicts


# ---------------------------------------------------------------- the coverage table

def all_check_ids() -> tuple[dict[str, str], str]:
    """(every check id -> its step, where the list comes from): the required-checks manifest, which
    acceptance/unit/test_required.py keeps in step with what pytest collects."""
    from acceptance.required import all_check_ids as manifest
    return manifest(), "acceptance/expected/required-checks.yaml (the required-checks manifest, default expected state)"


def coverage(rows: Iterable[dict], check_ids: dict[str, str], source: str = "",
             unit: dict[str, tuple[str, ...]] | None = None) -> dict:
    """Each check id with the breakages that made it fail on its assertion (applied breakages only: their
    control passed) and the unit tests that do (`unit`, default UNIT_CATCHES); `uncovered`: the check ids
    neither did."""
    unit = UNIT_CATCHES if unit is None else unit
    by_check: dict[str, dict] = {cid: {"check_id": cid, "step": step, "breakages": [],
                                       "unit_tests": list(unit.get(cid, ()))}
                                 for cid, step in check_ids.items()}
    for r in rows:
        if r.get("result") not in (CAUGHT, MISSED):
            continue
        for c in r.get("catches") or []:
            entry = by_check.setdefault(c["check_id"], {"check_id": c["check_id"], "step": c["step"],
                                                        "breakages": [], "unit_tests": [], "not_in_list": True})
            if r["id"] not in entry["breakages"]:
                entry["breakages"].append(r["id"])
    checks = list(by_check.values())
    uncovered = [c["check_id"] for c in checks if not c["breakages"] and not c["unit_tests"]]
    return {"source": source, "total": len(checks), "covered": len(checks) - len(uncovered),
            "by_breakage": sum(1 for c in checks if c["breakages"]),
            "by_unit_test_only": sum(1 for c in checks if c["unit_tests"] and not c["breakages"]),
            "checks": checks, "uncovered": uncovered}


# ---------------------------------------------------------------- the table

def counts(rows: Iterable[dict]) -> dict:
    rows = list(rows)
    n = {result: sum(r.get("result") == result for r in rows) for result in RESULTS}
    applied = n[CAUGHT] + n[MISSED]
    return {"total": len(rows), "applied": applied, "caught": n[CAUGHT], "missed": n[MISSED],
            "not_applied": n[NOT_APPLIED], "control_failed": n[CONTROL_FAILED],
            "kill_rate": round(n[CAUGHT] / applied, 4) if applied else 0.0}


def write_table(outcomes: list[Outcome], reports: Path, merge: bool = False, controls: list[dict] = (),
                check_ids: tuple[dict[str, str], str] | None = None) -> Path:
    """reports/mutants.json; with `merge` (a re-run of some breakages) their rows and control runs replace the
    earlier ones. `check_ids`: all check ids and their source, for the coverage table (default: all_check_ids)."""
    path = reports / "mutants.json"
    rows = {o.mutant.id: o.row() for o in outcomes}
    runs = {c.get("ref", c["id"]): c for c in controls}
    if merge and path.exists():
        data = json.loads(path.read_text())
        earlier = {r["id"]: r for r in data.get("rows", [])}
        rows = {m.id: rows.get(m.id) or earlier[m.id] for m in MUTANTS if m.id in rows or m.id in earlier}
        # an earlier control run stays while a row it judged stays (a re-run's control of the same id is another)
        used = {(r.get("control") or {}).get("run") for r in rows.values()}
        runs = {**{c.get("ref", c["id"]): c for c in data.get("controls", [])
                   if c.get("ref", c["id"]) in used and c.get("ref", c["id"]) not in runs}, **runs}
    ids, source = check_ids if check_ids is not None else all_check_ids()
    data = {"finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **counts(rows.values()),
            "controls": list(runs.values()), "rows": list(rows.values()),
            "coverage": coverage(rows.values(), ids, source)}
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return path


def exit_status(outcomes: list[Outcome]) -> int:
    """0 only when every breakage run was caught: none missed, none not applied, no control failed."""
    return 0 if outcomes and all(o.caught for o in outcomes) else 1


def print_table(outcomes: list[Outcome], controls: list[dict] = ()) -> None:
    for c in controls:
        print(f"\ncontrol {c['id']}: {'green' if c['ok'] else 'FAILED'} ({c['checks']} checks, report "
              f"{c['status']}, {c['duration_s']:.0f} s) for {', '.join(c['breakages'])}")
    print(f"\n{'breakage':34} {'steps':9} {'result':14} {'time':>6}  message")
    for o in outcomes:
        m = o.mutant
        result = o.result if o.caught else o.result.upper()
        message = o.message if o.result != CONTROL_FAILED else "; ".join(o.control.problems)
        print(f"{m.id:34} {','.join(m.steps):9} {result:14} {o.duration_s:5.0f}s  {message[:200]}")
        for c in o.catches if o.caught else ():
            print(f"{'':34}   caught by {c['check_id']}")
    n = counts(o.row() for o in outcomes)
    print(f"\nkill rate: {n['caught']}/{n['applied']} applied ({100 * n['kill_rate']:.0f} %); "
          f"not applied {n['not_applied']}, control failed {n['control_failed']}, of {n['total']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="only the breakages .ci/run runs")
    parser.add_argument("--only", nargs="+", metavar="ID",
                        help="only these breakages (their rows replace the earlier ones in reports/mutants.json)")
    parser.add_argument("--list", action="store_true", help="list the breakages and exit")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTANTS if (not args.smoke or m.smoke) and (not args.only or m.id in args.only)]
    unknown = set(args.only or ()) - {m.id for m in MUTANTS}
    if unknown:
        parser.error(f"unknown breakage(s) {sorted(unknown)}")
    if args.list:
        for m in chosen:
            print(f"{m.id:34} {m.category:18} {m.stack:10} {','.join(m.steps):9} {m.breakage}")
        return 0
    reports = Path(REPORTS_DIR)
    controls, verdicts = [], {}
    for run_id, members in control_groups(chosen):
        print(f"[mutants] {run_id}: {len(members)} breakage(s)' checks against the unbroken platform", flush=True)
        record, found = run_control(run_id, members, reports)
        print(f"[mutants]   {'green' if record['ok'] else 'FAILED'}: {record['checks']} checks, report "
              f"{record['status']}, {record['duration_s']:.0f} s", flush=True)
        controls.append(record)
        verdicts.update(found)
    outcomes = []
    for n, mutant in enumerate(chosen, 1):
        control = verdicts[mutant.id]
        if not control.ok:
            outcome = Outcome(mutant, CONTROL_FAILED, message="control failed: " + "; ".join(control.problems),
                              control=control)
            print(f"[mutants] {n}/{len(chosen)} {mutant.id}: not run, its control failed: "
                  f"{'; '.join(control.problems)[:300]}", flush=True)
        else:
            print(f"[mutants] {n}/{len(chosen)} {mutant.id}: {mutant.breakage} (must fail: "
                  f"{', '.join(mutant.steps)})", flush=True)
            outcome = run_mutant(mutant, reports, control)
            print(f"[mutants]   {outcome.result} in {outcome.duration_s:.0f} s: {outcome.message[:300]}", flush=True)
        outcomes.append(outcome)
    print_table(outcomes, controls)
    print(f"[mutants] table: {write_table(outcomes, reports, merge=bool(args.only), controls=controls)}")
    return exit_status(outcomes)


if __name__ == "__main__":
    raise SystemExit(main())
