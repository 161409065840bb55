# JupyterHub configuration of the platform. Mounted at /etc/jupyterhub/jupyterhub_config.py
# (outside the /srv/jupyterhub data volume). Everything is set through environment
# variables with defaults that give the deployment the specification describes.
# Each setting is read here only, as env("NAME", "default") beside what it means: the deployment
# files pass the settings through as stack/settings.py writes them from these reads
# (`python stack/settings.py --write` after adding one).
import os
import secrets
import sys
from pathlib import Path
from urllib.parse import quote

from jhub_platform.auth import USERNAME_PATTERN
from jhub_platform.compat import patch_nativeauthenticator_statsd
from jhub_platform.profiles import load_profiles, spawner_profiles

c = get_config()  # noqa: F821


def env(name, default):
    """A setting from the environment; unset or empty (the deployment files pass every setting through,
    stack/settings.py) gives the default, which lives only here."""
    return os.environ.get(name) or default


def env_bool(name, default):
    return env(name, str(default)).strip().lower() in ("1", "true", "yes", "on")


# Prefix on every name this deployment creates (user containers and volumes, network).
# Empty for a real deployment; the acceptance harness sets a run-specific one.
NAME_PREFIX = env("NAME_PREFIX", "")
PROFILES_FILE = env("PROFILES_FILE", str(Path(__file__).with_name("profiles.yaml")))
NOTEBOOK_HOME = "/home/nebula"
DATA_DIR = Path(env("HUB_DATA_DIR", "/srv/jupyterhub"))  # the hub's volume


def persistent_secret(path: Path) -> str:
    """A random secret made on first start and kept in the hub's volume (never in the repository or an image)."""
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip()


# --- hub, proxy, state ---------------------------------------------------------
# the URL prefix the hub is served under ("/jupyter/" behind a reverse proxy that serves it there)
BASE_URL = "/".join(["", *filter(None, env("BASE_URL", "/").split("/")), ""])
c.JupyterHub.bind_url = f"http://:8000{BASE_URL}"
c.JupyterHub.hub_ip = "0.0.0.0"
# JupyterHub 6.1.1 ignores hub_ip once hub_connect_url is set (Server.bind_url_default derives the bind
# address from the connect URL: it listened on the container's network address only). Bind explicitly;
# harmless once a release honours hub_ip with hub_connect_url.
c.JupyterHub.hub_bind_url = "http://0.0.0.0:8081"
c.JupyterHub.hub_connect_url = env("HUB_CONNECT_URL", "http://hub:8081")


def database_url() -> str:
    """DATABASE_URL as given; else PostgreSQL at POSTGRES_HOST (the production stack's db container: user,
    database, password from POSTGRES_PASSWORD or the file the db container generated it into); else SQLite
    in the hub's volume (the compose and swarm stacks)."""
    if env("DATABASE_URL", ""):
        return env("DATABASE_URL", "")
    host = env("POSTGRES_HOST", "")
    if not host:
        return f"sqlite:///{DATA_DIR}/jupyterhub.sqlite"
    password = env("POSTGRES_PASSWORD", "")
    password_file = Path(env("POSTGRES_PASSWORD_FILE", "/run/postgresql-secret/password"))
    if not password and password_file.is_file():
        password = password_file.read_text().strip()
    user, db = env("POSTGRES_USER", "jupyterhub"), env("POSTGRES_DB", "jupyterhub")
    # psycopg2 (images/hub/requirements.txt) named: SQLAlchemy 2.1 takes psycopg 3 for a bare postgresql://
    port = env("POSTGRES_PORT", "5432")
    return f"postgresql+psycopg2://{quote(user)}:{quote(password, safe='')}@{host}:{port}/{quote(db)}"


c.JupyterHub.db_url = database_url()
if c.JupyterHub.db_url.startswith("postgresql"):
    # a connection the database dropped (a PostgreSQL restart) is replaced, not handed to a request
    c.JupyterHub.db_kwargs = {"pool_pre_ping": True}
# both secrets are generated on first start in the volume: JupyterHub writes the cookie secret,
# the proxy token is ours (else it changes at every start)
c.JupyterHub.cookie_secret_file = str(DATA_DIR / "jupyterhub_cookie_secret")
if DATA_DIR.is_dir():  # absent where the config is only rendered (unit tests)
    c.ConfigurableHTTPProxy.auth_token = persistent_secret(DATA_DIR / "proxy_auth_token")
c.JupyterHub.allow_named_servers = True
c.JupyterHub.admin_access = True
# keep user servers running across hub restarts (the hub re-attaches to them)
c.JupyterHub.cleanup_servers = False

# --- hub services: idle culler, metrics ------------------------------------------
# /hub/metrics only with a token that has read:metrics (JupyterHub's default, stated)
c.JupyterHub.authenticate_prometheus = True
services, roles = [], []
if env_bool("CULL_IDLE", False):
    # jupyterhub-idle-culler stops servers idle for CULL_IDLE_TIMEOUT seconds, checking every CULL_EVERY;
    # users are never deleted, so its role has the narrowest scopes its README lists for culling servers
    CULL_IDLE_TIMEOUT = int(env("CULL_IDLE_TIMEOUT", "3600"))
    CULL_EVERY = int(env("CULL_EVERY", str(min(300, max(CULL_IDLE_TIMEOUT // 4, 5)))))
    cull_command = [sys.executable, "-m", "jupyterhub_idle_culler",
                    f"--timeout={CULL_IDLE_TIMEOUT}", f"--cull-every={CULL_EVERY}"]
    services.append({"name": "idle-culler", "command": cull_command})
    roles.append({"name": "idle-culler", "services": ["idle-culler"],
                  "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"]})
    # activity must reach the hub well within the timeout: the proxy's routes are read, and user servers
    # report, at a quarter of it (JupyterHub's default: every 5 minutes)
    ACTIVITY_INTERVAL = min(300, max(CULL_IDLE_TIMEOUT // 4, 5))
    c.JupyterHub.last_activity_interval = ACTIVITY_INTERVAL
    c.Spawner.environment = {"JUPYTERHUB_ACTIVITY_INTERVAL": str(ACTIVITY_INTERVAL)}
if env_bool("METRICS_SERVICE", False):
    # a service whose token reads the metrics and nothing else: METRICS_API_TOKEN, or one made on first
    # start in the hub's volume (a Prometheus scrapes /hub/metrics with it)
    metrics_token = env("METRICS_API_TOKEN", "")
    if not metrics_token and DATA_DIR.is_dir():
        metrics_token = persistent_secret(DATA_DIR / "metrics_api_token")
    services.append({"name": "metrics", "api_token": metrics_token or None})
    roles.append({"name": "metrics", "services": ["metrics"], "scopes": ["read:metrics"]})
c.JupyterHub.services = services
c.JupyterHub.load_roles = roles

# --- authentication -------------------------------------------------------------
# bootstrap (default): anyone may sign up and log in; production: sign-up closed,
# only ALLOWED_USERS (and the admin) may log in, optional two-factor (OTP).
AUTH_MODE = env("AUTH_MODE", "bootstrap")
if AUTH_MODE not in ("bootstrap", "production"):
    raise SystemExit(f"AUTH_MODE must be 'bootstrap' or 'production', not {AUTH_MODE!r}")
ADMIN_USER = env("ADMIN_USER", "admin")
# NativeAuthenticator with clearer signup/login messages; in production mode it also admits
# users the admin approved at /hub/authorize (see jhub_platform/auth.py)
c.JupyterHub.authenticator_class = "jhub_platform.auth.PlatformAuthenticator"
c.Authenticator.admin_users = {ADMIN_USER}
c.Authenticator.username_pattern = USERNAME_PATTERN
c.NativeAuthenticator.minimum_password_length = int(env("MIN_PASSWORD_LENGTH", "8"))
c.NativeAuthenticator.check_common_password = True
# lock an account after this many failed logins in a row, for this long (0 failures: never lock)
c.NativeAuthenticator.allowed_failed_logins = int(env("LOGIN_MAX_FAILURES", "5"))
c.NativeAuthenticator.seconds_before_next_try = int(env("LOGIN_LOCK_SECONDS", "600"))
if AUTH_MODE == "bootstrap":
    c.NativeAuthenticator.open_signup = True
    c.Authenticator.allow_all = True  # JupyterHub 5+: else signed-up users cannot log in
else:
    c.NativeAuthenticator.open_signup = False
    c.Authenticator.allow_all = False
    c.Authenticator.allowed_users = {u.strip() for u in env("ALLOWED_USERS", "").split(",") if u.strip()} | {
        ADMIN_USER
    }
    c.NativeAuthenticator.allow_2fa = env_bool("ENABLE_OTP", False)
patch_nativeauthenticator_statsd()

# --- spawner: six DockerSpawner profiles from profiles.yaml ---------------------
c.JupyterHub.spawner_class = "jhub_platform.spawner.PlatformProfilesSpawner"
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = int(env("SPAWNER_START_TIMEOUT", "300"))
c.Spawner.http_timeout = int(env("SPAWNER_HTTP_TIMEOUT", "120"))
c.Spawner.poll_interval = int(env("SPAWNER_POLL_INTERVAL", "10"))  # how soon a dead server is noticed
# after a server's container starts, check every SPAWNER_LISTEN_POLL_INTERVAL seconds that it accepts connections
# before the hub's readiness poll begins: that poll (JupyterHub 6.1.1's Server.wait_up, not configurable) backs
# off exponentially with jitter, and `nox -s benchmark` measured it adding 0-3.6 s after the server was up (the
# slow mode of the bimodal spawn times). 0 turns the check off (JupyterHub's own poll only).
c.PlatformProfilesSpawner.listen_poll_interval = float(env("SPAWNER_LISTEN_POLL_INTERVAL", "0.1"))

NETWORK = env("DOCKER_NETWORK_NAME", f"{NAME_PREFIX}jupyterhub-net")
c.DockerSpawner.network_name = NETWORK
c.DockerSpawner.use_internal_ip = True
c.DockerSpawner.prefix = f"{NAME_PREFIX}jupyter"
c.DockerSpawner.volumes = {f"{NAME_PREFIX}jupyterhub-user-{{username}}": NOTEBOOK_HOME}
c.DockerSpawner.remove = True  # a stopped server's container is deleted; the home volume stays
# the images are built on this host (images/build.py): never pull; a missing one is reported as such
c.DockerSpawner.pull_policy = env("IMAGE_PULL_POLICY", "never")
# a server runs its profile's image only: no image chosen through user_options (the REST API's body), whatever
# DockerSpawner's default (GHSA-hfgr-h3vc-p6c2: before 13.0 an unset allowed_images allowed any image)
c.DockerSpawner.allowed_images = []
# user containers: non-root (the image's user), no new privileges, no capabilities, no Docker socket
c.DockerSpawner.extra_host_config = {"security_opt": ["no-new-privileges"], "cap_drop": ["ALL"]}
# and at most USER_PIDS_LIMIT processes and threads each (a fork bomb stays inside its container)
c.DockerSpawner.extra_host_config["pids_limit"] = int(env("USER_PIDS_LIMIT", "1024"))
c.DockerSpawner.extra_create_kwargs = {"labels": {"org.jupyterhub.platform.prefix": NAME_PREFIX or "-"}}
# logs: with the stack's log collector (USER_LOG_ADDRESS, the compose files' x-log-address), each user server logs
# through Docker's syslog driver to it, as the stack's own containers do: its log is kept, one rotated file per
# container name, after DockerSpawner removes the container (docs/logs.md); `docker logs` still works meanwhile
# (DockerSpawner formats extra_host_config's strings with its template namespace: Docker's {{.Name}} is written
# with its braces doubled)
USER_LOG_ADDRESS = env("USER_LOG_ADDRESS", "")
if USER_LOG_ADDRESS:
    c.DockerSpawner.extra_host_config["log_config"] = {
        "type": "syslog",
        "config": {"syslog-address": USER_LOG_ADDRESS, "syslog-format": "rfc5424micro", "tag": "{{{{.Name}}}}"}}

# SPAWNER_BACKEND: "docker" (one host: a container per server) or "swarm" (stack/swarm/: a swarm service
# per server, placed by the swarm; DockerSpawner's settings above apply to it too)
SPAWNER_BACKEND = env("SPAWNER_BACKEND", "docker")
BACKENDS = {"docker": "dockerspawner.DockerSpawner", "swarm": "jhub_platform.swarm.PlatformSwarmSpawner"}
if SPAWNER_BACKEND not in BACKENDS:
    raise SystemExit(f"SPAWNER_BACKEND must be one of {sorted(BACKENDS)}, not {SPAWNER_BACKEND!r}")
if SPAWNER_BACKEND == "swarm":
    # a service's container takes no host config: the same hardening through its container spec
    # (swarm services cannot set no-new-privileges on Docker 20.10)
    c.SwarmSpawner.extra_container_spec = {
        "cap_drop": ["ALL"], "labels": c.DockerSpawner.extra_create_kwargs["labels"]}
    # the server's service name resolves to its task's address (as the hub's does: docker-stack.yml)
    c.SwarmSpawner.extra_endpoint_spec = {"mode": "dnsrr"}
    # reservations: this fraction of each profile's CPU and memory limits
    c.PlatformSwarmSpawner.reserve_fraction = float(env("SWARM_RESERVE_FRACTION", "0.1"))

c.ProfilesSpawner.profiles = spawner_profiles(
    load_profiles(PROFILES_FILE),
    BACKENDS[SPAWNER_BACKEND],
    # shared Spawner/DockerSpawner traits must sit in each profile (see spawner_profiles)
    {"ip": "0.0.0.0", "port": 8888, "notebook_dir": NOTEBOOK_HOME},
)
