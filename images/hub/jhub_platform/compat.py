"""Workarounds for upstream incompatibilities, applied by the hub config."""
from __future__ import annotations


class _NoStatsd:
    """Accepts the statsd calls nativeauthenticator makes and does nothing."""

    def timer(self, *_args, **_kwargs):
        return self

    def start(self):
        return self

    def stop(self, *_args, **_kwargs):
        return None


def patch_nativeauthenticator_statsd() -> bool:
    """nativeauthenticator 1.3.0's LoginHandler.post calls self.statsd.timer(); JupyterHub 6
    removed BaseHandler.statsd, so POST /hub/login answers 500. Give the handler a no-op
    statsd. Remove when nativeauthenticator > 1.3.0 stops using statsd.
    Returns True when the patch was needed (JupyterHub without BaseHandler.statsd)."""
    from jupyterhub.handlers.base import BaseHandler
    from nativeauthenticator.handlers import LoginHandler

    if hasattr(BaseHandler, "statsd") or hasattr(LoginHandler, "statsd"):
        return False
    LoginHandler.statsd = _NoStatsd()
    return True
