"""OIDC Core section 3.1.2.1 prompt/max_age/id_token_hint decisions and claim release."""

import pytest

from keystead.protocols.oauth2.authorization import AuthorizationRequest
from keystead.protocols.oauth2.errors import ConsentRequired, LoginRequired
from keystead.protocols.oidc import claims
from keystead.protocols.oidc.prompt import CONSENT, LOGIN, Authentication, steps_needed

NOW = 1_000_000.0


def req(**kw):
    base = {
        "client_id": "rp",
        "redirect_uri": "https://rp/cb",
        "response_type": "code",
        "response_mode": "query",
        "scopes": ("openid",),
    }
    base.update(kw)
    return AuthorizationRequest(**base)


def steps(request, authn=None, hinted=None, consent=True, first_party=False):
    return steps_needed(
        request, authn, now=NOW, hinted_subject=hinted, consent_on_record=consent, first_party=first_party
    )


SESSION = Authentication("alice", NOW - 100)


def test_no_session_needs_login():
    assert steps(req()) == (LOGIN,)


def test_session_and_consent_need_nothing():
    assert steps(req(), SESSION) == ()


def test_prompt_login_forces_login_unless_fresh():
    assert steps(req(prompt=("login",)), SESSION) == (LOGIN,)
    assert steps(req(prompt=("login",)), Authentication("alice", NOW, fresh=True)) == ()


def test_max_age():
    assert steps(req(max_age=10), SESSION) == (LOGIN,)
    assert steps(req(max_age=10_000), SESSION) == ()


def test_id_token_hint_for_another_user():
    assert steps(req(), SESSION, hinted="bob") == (LOGIN,)
    assert steps(req(), SESSION, hinted="alice") == ()


def test_consent_needed_unless_first_party():
    assert steps(req(), SESSION, consent=False) == (CONSENT,)
    assert steps(req(), SESSION, consent=False, first_party=True) == ()
    assert steps(req(prompt=("consent",)), SESSION) == (CONSENT,)


def test_prompt_none_errors():
    with pytest.raises(LoginRequired):
        steps(req(prompt=("none",)))
    with pytest.raises(ConsentRequired):
        steps(req(prompt=("none",)), SESSION, consent=False)


def test_claims_by_scope():
    names = claims.names_for(["openid", "email"])
    assert names == {"sub", "email", "email_verified"}
    assert "name" in claims.names_for(["openid"], {"name": {"essential": True}})
    assert "password" not in claims.names_for(["openid"], {"password": None})


def test_release_skips_empty_values():
    released = claims.release(
        {"sub": "1", "email": "", "name": None, "locale": "en"}, {"sub", "email", "name", "locale"}
    )
    assert released == {"sub": "1", "locale": "en"}


def test_at_hash_is_left_half_of_sha256():
    import base64
    import hashlib

    digest = hashlib.sha256(b"token").digest()[:16]
    assert claims.at_hash("token", "ES256") == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
