"""Phase 4: Authentication & Authorization - NativeAuthenticator in bootstrap mode, admin `admin`."""
import httpx
import pytest

from acceptance.hub_config import effective_config_in_hub

pytestmark = pytest.mark.p4


def is_native_authenticator(stack, class_name: str) -> bool:
    """Whether the hub's authenticator class is nativeauthenticator.NativeAuthenticator or built on it."""
    module, name = class_name.rsplit(".", 1)
    return stack.hub_python(
        f"import importlib; from nativeauthenticator import NativeAuthenticator\n"
        f"print(issubclass(getattr(importlib.import_module({module!r}), {name!r}), NativeAuthenticator))\n"
    ).strip() == "True"


def test_native_authenticator_in_bootstrap_mode_with_admin(stack, evidence):
    """NativeAuthenticator, open signup, allow_all (bootstrap mode), admin user `admin`, 8+ char passwords."""
    cfg = effective_config_in_hub(stack)
    authenticator = cfg["JupyterHub"]["authenticator_class"]
    evidence.fact("authenticator_class", f"{authenticator} (NativeAuthenticator with the platform's messages)")
    assert is_native_authenticator(stack, authenticator), f"{authenticator} is not a NativeAuthenticator"
    facts = {
        "open_signup": cfg["NativeAuthenticator"]["open_signup"],
        "allow_all": cfg["Authenticator"]["allow_all"],
        "admin_users": cfg["Authenticator"]["admin_users"],
        "minimum_password_length": cfg["NativeAuthenticator"]["minimum_password_length"],
    }
    for k, v in facts.items():
        evidence.fact(k, v)
    assert facts == {
        "open_signup": True,
        "allow_all": True,
        "admin_users": ["admin"],
        "minimum_password_length": 8,
    }


def test_signup_page_is_open(stack):
    """/hub/signup is served (self-signup on) and /hub/login uses NativeAuthenticator's form."""
    signup = httpx.get(f"{stack.hub_url}/hub/signup", timeout=10)
    assert signup.status_code == 200 and 'id="signup_submit"' in signup.text
    login = httpx.get(f"{stack.hub_url}/hub/login", timeout=10)
    assert login.status_code == 200 and 'id="login_submit"' in login.text
