"""Anything unexpected becomes a generic ``server_error``; its detail goes only to the log."""

from __future__ import annotations

import logging

from tests.support.factories import REDIRECT_URI

SECRET_DETAIL = "database exploded: password=hunter2"


class Boom(RuntimeError):
    pass


def _explode(*args, **kwargs):
    raise Boom(SECRET_DETAIL)


def test_token_endpoint_answers_server_error_without_detail(client, factory, keystead, monkeypatch, caplog):
    tenant = factory.tenant()
    rp = factory.client(tenant)
    monkeypatch.setattr(keystead.token_endpoint, "token", _explode)

    with caplog.at_level(logging.ERROR):
        response = client.post(
            f"/t/{tenant.name}/token",
            data={"grant_type": "client_credentials"},
            auth=(rp.client_id, rp.secret),
        )

    assert response.status_code == 500
    assert response.json() == {"error": "server_error", "error_description": "unexpected error"}
    assert "hunter2" not in response.text
    assert any("hunter2" in (r.exc_text or "") or SECRET_DETAIL in str(r.exc_info) for r in caplog.records)


def test_authorization_endpoint_shows_a_generic_error_page(client, factory, keystead, monkeypatch, caplog):
    tenant = factory.tenant()
    rp = factory.client(tenant)
    monkeypatch.setattr(keystead.authorization, "start", _explode)

    with caplog.at_level(logging.ERROR):
        response = client.get(
            f"/t/{tenant.name}/authorize",
            params={
                "client_id": rp.client_id,
                "redirect_uri": REDIRECT_URI,
                "response_type": "code",
                "scope": "openid",
            },
        )

    assert response.status_code == 500
    assert "location" not in response.headers
    assert "server_error" in response.text
    assert "hunter2" not in response.text
    assert any(r.exc_info for r in caplog.records)
