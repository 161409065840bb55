"""ProfilesSpawner with the fixes wrapspawner 1.0.1 (its last release, 2022) lacks."""
from __future__ import annotations

import asyncio
import time

from docker.errors import ImageNotFound
from traitlets import Float, directional_link
from wrapspawner import ProfilesSpawner

try:
    from jupyterhub.spawner import SpawnException
except ImportError:   # JupyterHub < 6.0 (the previous release's hub, requirements-jupyterhub5.txt): no SpawnException
    class SpawnException(Exception):  # noqa: N818 - JupyterHub 6's name
        """JupyterHub 5 shows an exception's `jupyterhub_message` to the user, as 6 shows SpawnException's."""

        def __init__(self, message, *, reason, **_kwargs):
            super().__init__(message)
            self.message = self.jupyterhub_message = message
            self.reason = reason


class PlatformProfilesSpawner(ProfilesSpawner):
    listen_poll_interval = Float(0, config=True, help="""Seconds between checks, after the server's
        container started, that the server accepts connections; start() returns once it does, so the hub's
        readiness poll (Server.wait_up: exponential backoff with full jitter, waits of up to 0.2, 0.4 ... 3.2,
        then 5 s) finds it at its first try. 0: return at once (upstream behaviour).""")

    async def start(self):
        if not self.child_spawner:
            self.construct_child()
        await self.check_image()
        address = await super().start()
        await self.wait_listening(address)
        return address

    async def wait_listening(self, address) -> None:
        """Wait until (ip, port) accepts a TCP connection, every listen_poll_interval seconds, at most
        http_timeout seconds or until the server has stopped; whatever happens, the hub's own readiness check
        follows and decides (a server that never answers fails there, as without this wait)."""
        if not self.listen_poll_interval or not isinstance(address, tuple):
            return
        ip, port = address
        deadline = time.monotonic() + self.http_timeout
        next_poll = 0.0
        while time.monotonic() < deadline:
            try:
                _reader, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), timeout=1)
                writer.close()
                return
            except (OSError, TimeoutError):
                pass
            if time.monotonic() >= next_poll:   # a stopped container never listens: check about once a second
                next_poll = time.monotonic() + 1
                if await self.child_spawner.poll() is not None:
                    return
            await asyncio.sleep(self.listen_poll_interval)

    async def check_image(self) -> None:
        """With pull_policy "never", say plainly that a profile's image is missing (DockerSpawner
        would fail later with a bare 404 "No such image")."""
        child = self.child_spawner
        if getattr(child, "pull_policy", "").lower() != "never":
            return
        try:
            await child.docker("inspect_image", child.image)
        except ImageNotFound:
            label = next((p[0] for p in self.profiles if p[1] == self.child_profile), self.child_profile)
            # SpawnException: JupyterHub shows its message to the user (spawn form, progress page, API)
            raise SpawnException(f"The image {child.image} of the profile '{label}' is not on this Docker host. "
                                 "Ask the administrator to build it (nox -s images), or choose another profile.",
                                 reason="image_missing") from None

    def select_profile(self, profile):
        # wrapspawner 1.0.1: a spawn with no/unknown 'profile' (REST API) keeps the
        # LocalProcessSpawner default and fails in getpwnam; fall back to the first
        # profile, as the form does. Remove when a wrapspawner release does this.
        chosen = next((p for p in self.profiles if p[1] == profile), self.profiles[0])
        self.child_profile = chosen[1]
        self.child_class = chosen[2]
        # a copy: wrapspawner updates child_config in place on load_state
        self.child_config = dict(chosen[3])

    def construct_child(self):
        # wrapspawner 1.0.1 builds the child without orm_spawner, so every named
        # server of a user gets the same container name (starting one deletes the
        # other, 409). Same code as upstream's, plus orm_spawner. Remove when a
        # wrapspawner release passes orm_spawner.
        if self.child_spawner is None:
            if not self.child_profile:
                self.child_profile = self.user_options.get("profile", "")
                self.select_profile(self.child_profile)
            self.child_spawner = self.child_class(
                user=self.user,
                db=self.db,
                hub=self.hub,
                authenticator=self.authenticator,
                oauth_client_id=self.oauth_client_id,
                server=self._server,
                orm_spawner=self.orm_spawner,
                config=self.config,
                **self.child_config,
            )
            if hasattr(self.child_spawner, "_object_name_default"):
                # DockerSpawner renders its container name when `image` is set, and `image`
                # arrives as a constructor kwarg, before config (prefix) is loaded: render it
                # again now that config is in (dockerspawner 14.0.0; harmless once fixed).
                self.child_spawner.object_name = self.child_spawner._object_name_default()
            self.child_spawner.clear_state()
            if self.child_state:
                self.child_spawner.load_state(self.child_state)
            common = (set(self.trait_names()) & set(self.child_spawner.trait_names())) - set(self.child_config)
            for trait in common:
                directional_link((self, trait), (self.child_spawner, trait))
        return self.child_spawner
