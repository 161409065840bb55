"""NativeAuthenticator as the platform uses it: the same accounts, forms and /hub/authorize
area, plus
- messages that say which rule a refused signup broke, that a login is locked, and that a
  user approved in advance (production mode's allowed_users) may log in at once;
- with allow_all off (production mode), users the admin approved at /hub/authorize are
  allowed too: JupyterHub's check_allowed would otherwise admit only `allowed_users`, so
  an approved self-signup could never log in.
"""
from __future__ import annotations

import math
from datetime import datetime

from nativeauthenticator import NativeAuthenticator
from nativeauthenticator.handlers import LoginHandler, SignUpHandler

USERNAME_RULE = "1 to 32 characters: lowercase letters, digits, '.', '_' or '-', starting with a letter or digit"
USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,31}$"


class PlatformSignUpHandler(SignUpHandler):
    def get_result_message(self, user, assume_user_is_human, username_already_taken, confirmation_matches,
                           user_is_admin):
        alert, message = super().get_result_message(user, assume_user_is_human, username_already_taken,
                                                    confirmation_matches, user_is_admin)
        if user is None and assume_user_is_human and not username_already_taken and confirmation_matches:
            reason = self.authenticator.signup_refusal(self.get_body_argument("username", "", strip=False),
                                                       self.get_body_argument("signup_password", "", strip=False))
            message = reason or message
        elif user is not None and user.is_authorized and alert == "alert-info":
            # upstream says "sent to the admin" also to users approved in advance (allowed_users)
            alert = "alert-success"
            message = "The signup was successful! You were approved in advance: you can log in now."
        return alert, message


class PlatformLoginHandler(LoginHandler):
    async def _render(self, login_error=None, username=None):
        if login_error and username:
            seconds = self.authenticator.seconds_locked(username)
            if seconds:
                login_error = (f"Too many failed logins: this account is locked for {seconds} more seconds. "
                               "Try again later.")
        return await super()._render(login_error=login_error, username=username)


class PlatformAuthenticator(NativeAuthenticator):
    def signup_refusal(self, username: str, password: str) -> str | None:
        """Why a signup with these inputs makes no account (None: no rule broken here)."""
        name = self.normalize_username(username)
        if not name.strip():
            return "Choose a username."
        if not self.validate_username(name):
            return f"That username is not allowed. A username has {USERNAME_RULE}."
        if len(password) < self.minimum_password_length:
            return f"The password is too short: use at least {self.minimum_password_length} characters."
        if self.check_common_password and self.is_password_common(password):
            return "That password is too common (it is on a list of leaked passwords): choose another."
        return None

    def seconds_locked(self, username: str) -> int:
        """Seconds until a locked account may try again; 0 when it is not locked."""
        name = self.normalize_username(username)
        if not self.allowed_failed_logins or not self.is_blocked(name):
            return 0
        elapsed = (datetime.now() - self.login_attempts[name]["time"]).total_seconds()
        return max(1, math.ceil(self.seconds_before_next_try - elapsed))

    def check_allowed(self, username, authentication=None):
        if super().check_allowed(username, authentication):
            return True
        info = self.get_user(username)
        return bool(info is not None and info.is_authorized)

    def get_handlers(self, app):
        swap = {SignUpHandler: PlatformSignUpHandler, LoginHandler: PlatformLoginHandler}
        return [(route, swap.get(handler, handler), *rest) for route, handler, *rest in super().get_handlers(app)]
