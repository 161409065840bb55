"""Security 2: Isolation - what every client of the hub gets: security headers, and on an https:// hub a
certificate that is valid and not about to expire. Safe without credentials (--read-only)."""
import socket
import ssl
from datetime import UTC, datetime
from urllib.parse import urlparse

import pytest

from acceptance.client.hub_api import HubSession, headers_not_matching

pytestmark = [pytest.mark.r2, pytest.mark.read_only]


def test_the_login_page_sends_the_security_headers(stack, expected, evidence):
    """The login page sends the expected security headers (CSP frame-ancestors; HSTS over https)."""
    wanted = dict(expected.data["http"]["security_headers"])
    if stack.hub_url.startswith("https://"):
        wanted.update(expected.data["http"]["https_security_headers"])
    with HubSession(stack.hub_url, stack.ca_bundle) as session:
        response = session.http.get("/hub/login")
    for header in wanted:
        evidence.fact(header, response.headers.get(header))
    missing = headers_not_matching(response, wanted)
    assert not missing, f"headers without what the expected state says ({wanted}): {missing}"


@pytest.mark.https_only
def test_the_tls_certificate_is_valid_and_not_about_to_expire(stack, expected, evidence):
    """The hub's certificate verifies (system CAs or --ca-bundle) for its host name and is valid for at
    least 14 more days."""
    url = urlparse(stack.hub_url)
    context = ssl.create_default_context(cafile=stack.ca_bundle)
    with socket.create_connection((url.hostname, url.port or 443), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname=url.hostname) as tls:
        cert = tls.getpeercert()
    expires = datetime.fromtimestamp(ssl.cert_time_to_seconds(cert["notAfter"]), UTC)
    days = (expires - datetime.now(UTC)).days
    subject = dict(x[0] for x in cert["subject"])
    evidence.fact("certificate", f"{subject.get('commonName')} until {expires:%Y-%m-%d} ({days} days)")
    minimum = expected.data["http"]["tls_min_days_valid"]
    assert days >= minimum, f"the certificate expires in {days} days (on {expires:%Y-%m-%d}), under {minimum}"
