"""acceptance.client.totp against RFC 6238's SHA-1 test vectors."""
import base64

import pytest

from acceptance.client.totp import totp

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()


@pytest.mark.parametrize(("at", "code"), [(59, "94287082"), (1111111109, "07081804"), (2000000000, "69279037")])
def test_rfc6238_vectors(at, code):
    assert totp(RFC_SECRET, at=at, digits=8) == code


def test_six_digits_and_unpadded_lowercase_secret():
    assert totp(RFC_SECRET.rstrip("=").lower(), at=59) == "287082"
