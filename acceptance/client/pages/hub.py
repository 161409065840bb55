"""Hub pages: signup, login, home, spawn form, admin panel."""
from __future__ import annotations

import re
from urllib.parse import urlparse

from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from acceptance.settings import Timeouts


class SignupPage:
    """NativeAuthenticator's /hub/signup (its confirm label's `for` does not match: use ids)."""

    def __init__(self, page: Page):
        self.page = page
        self.alert = page.locator(".alert[role=alert]")

    def open(self) -> SignupPage:
        self.page.goto("hub/signup")
        return self

    def fill(self, username: str, password: str, confirmation: str | None = None, two_factor: bool = False) -> None:
        self.page.locator("#username_input").fill(username)
        self.page.locator("#password_input").fill(password)
        self.page.locator("#password_confirmation_input").fill(password if confirmation is None else confirmation)
        if two_factor:
            self.page.locator("[id='2fa']").check()  # an id starting with a digit

    def sign_up(self, username: str, password: str, confirmation: str | None = None, two_factor: bool = False) -> str:
        self.fill(username, password, confirmation, two_factor)
        self.page.locator("#signup_submit").click()
        expect(self.alert).to_be_visible()
        return self.alert.inner_text()

    def two_factor_secret(self) -> str:
        """The OTP secret NativeAuthenticator shows once, after a signup with two-factor set up."""
        secret = self.alert.locator("strong").nth(1)
        expect(secret).to_have_text(re.compile(r"^[A-Z2-7]{16}$"))
        return secret.inner_text()

    def browser_refusal(self) -> str:
        """Press "Create User" when the browser itself must refuse (a required field is empty): its
        validation message, with no request sent (the page shows no result)."""
        self.page.locator("#signup_submit").click()
        expect(self.alert).to_have_count(0)
        return self.page.locator("#username_input").evaluate("el => el.validationMessage")


class LoginPage:
    def __init__(self, page: Page):
        self.page = page

    def open(self) -> LoginPage:
        self.page.goto("hub/login")
        return self

    def _submit(self, username: str, password: str, otp: str | None) -> None:
        self.page.locator("#username_input").fill(username)
        self.page.locator("#password_input").fill(password)
        if otp is not None:
            self.page.locator("[id='2fa_input']").fill(otp)
        self.page.locator("#login_submit").click()

    def log_in(self, username: str, password: str, otp: str | None = None) -> HomePage:
        self._submit(username, password, otp)
        self.page.wait_for_url(re.compile(r"/hub/(home|spawn|spawn-pending)|/user/"))
        return HomePage(self.page)

    def refused(self, username: str, password: str, otp: str | None = None) -> str:
        """Submit credentials the hub must refuse; returns the error the login page shows."""
        self._submit(username, password, otp)
        error = self.page.locator(".login_error")
        expect(error, f"the hub did not refuse the login as {username!r} (it is at {self.page.url})").to_be_visible()
        return error.inner_text().strip()


class HomePage:
    def __init__(self, page: Page):
        self.page = page
        self.admin_link = page.get_by_role("link", name="Admin", exact=True)
        self.start_button = page.locator("#start")
        self.stop_button = page.locator("#stop")
        self.logout = page.get_by_role("button", name=re.compile("Logout", re.I))

    def open(self) -> HomePage:
        self.page.goto("hub/home")
        return self

    def start_my_server(self) -> SpawnPage:
        """"Start My Server". While a named server runs, JupyterHub links it to /user/<name>/,
        which shows "Server not running" with a "Launch Server" button: press that too."""
        self.start_button.click()
        form = self.page.locator("#spawn_form")
        launch = self.page.get_by_role("button", name=re.compile(r"^(Launch|Relaunch) Server"))
        expect(form.or_(launch)).to_be_visible()
        if not form.is_visible():
            launch.click()
        return SpawnPage(self.page)

    def add_named_server(self, name: str) -> SpawnPage:
        """"Add New Server" creates the named server (JupyterHub 6 does not start it); its start link
        opens the spawn form."""
        self.page.locator(".new-server-name").fill(name)
        self.page.locator(".new-server-btn").click()
        self.page.locator(f"#start-{name}").click()
        self.page.wait_for_url(re.compile(r"/hub/spawn/"))
        return SpawnPage(self.page)

    def stop_default_server(self) -> None:
        self.stop_button.click()
        # the page's own JS hides the button once the hub reports the server stopped
        expect(self.stop_button).to_be_hidden(timeout=Timeouts.stop * 1000)
        expect(self.start_button).to_have_text(re.compile(r"Start\s+My Server"))


class SpawnPage:
    """The spawn form (#spawn_form) with ProfilesSpawner's select[name=profile]."""

    def __init__(self, page: Page):
        self.page = page
        self.form = page.locator("#spawn_form")
        self.profile = self.form.locator("select[name=profile]")

    def open(self, user: str, server: str = "") -> SpawnPage:
        self.page.goto(f"hub/spawn/{user}/{server}" if server else "hub/spawn")
        return self

    def profile_names(self) -> list[str]:
        expect(self.profile).to_be_visible()
        return [t.strip() for t in self.profile.locator("option").all_inner_texts()]

    def start(self, profile_name: str, lands_on: str) -> None:
        """Choose a profile, press Start, wait for the spawn to finish (the browser leaves the hub's
        spawn pages) and then for the server's page (`lands_on`, a URL regex)."""
        self.profile.select_option(label=profile_name)
        self.form.get_by_role("button", name="Start").click()
        self.page.wait_for_url(lambda url: "/hub/spawn" not in url, timeout=Timeouts.spawn * 1000)
        try:
            self.page.wait_for_url(re.compile(lands_on), timeout=Timeouts.ui * 1000)
        except PlaywrightTimeoutError:
            raise AssertionError(f"{profile_name} landed on {self.page.url}, expected a URL matching {lands_on}") \
                from None


    def start_preselected(self) -> str:
        """Press Start without choosing a profile; the path the server lands on."""
        self.form.get_by_role("button", name="Start").click()
        self.page.wait_for_url(re.compile(r"/user/"), timeout=Timeouts.spawn * 1000)
        self.page.wait_for_load_state()
        return urlparse(self.page.url).path

    def start_failing(self, profile_name: str) -> str:
        """Start a profile that must fail; the error the hub shows: on the form again when the spawn
        fails at once, else on the progress page ("Spawn failed: ...")."""
        self.profile.select_option(label=profile_name)
        self.form.get_by_role("button", name="Start").click()
        error = self.page.locator(".spawn-error-msg").or_(
            self.page.locator("#progress-message", has_text="Spawn failed"))
        expect(error).to_be_visible(timeout=Timeouts.spawn * 1000)
        return error.inner_text().strip()


class AdminPage:
    """JupyterHub's React admin panel; rows carry data-testid user-row-<user>[-<server>]."""

    def __init__(self, page: Page):
        self.page = page
        self.names = page.get_by_test_id("user-row-name")

    def open(self) -> AdminPage:
        response = self.page.goto("hub/admin")
        expect(self.names.first, f"the admin panel lists no users (/hub/admin answered HTTP "
                                 f"{response.status if response else '?'})").to_be_visible()
        return self

    def usernames(self) -> list[str]:
        """Each user once (the panel has a row per server, so a user with named servers shows repeatedly)."""
        return list(dict.fromkeys(t.strip() for t in self.names.all_inner_texts()))

    def row(self, user: str, server: str = "") -> Locator:
        return self.page.get_by_test_id(f"user-row-{user}" + (f"-{server}" if server else ""))

    def stop_server(self, user: str, server: str = "") -> None:
        row = self.row(user, server)
        row.get_by_role("button", name="Stop Server").click()
        expect(row.get_by_role("button", name="Start Server")).to_be_visible(timeout=Timeouts.stop * 1000)


class AuthorizePage:
    """NativeAuthenticator's authorization area (/hub/authorize, admins only): a row per signup with an
    Authorize / Unauthorize button."""

    def __init__(self, page: Page):
        self.page = page

    def open(self) -> AuthorizePage:
        self.page.goto("hub/authorize")
        expect(self.page.get_by_role("table")).to_be_visible()
        return self

    def row(self, username: str) -> Locator:
        return self.page.get_by_role("row").filter(has=self.page.get_by_role("cell", name=username, exact=True))

    def _toggle(self, username: str, button: str) -> None:
        self.row(username).get_by_role("button", name=button, exact=True).click()
        self.open()

    def authorize(self, username: str) -> None:
        self._toggle(username, "Authorize")
        expect(self.row(username).get_by_role("button", name="Unauthorize", exact=True)).to_be_visible()

    def unauthorize(self, username: str) -> None:
        self._toggle(username, "Unauthorize")
        expect(self.row(username).get_by_role("button", name="Authorize", exact=True)).to_be_visible()
