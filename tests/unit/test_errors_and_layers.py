"""Every OAuth 2.0 / OIDC error code has exactly one class, and the sans-IO rule holds."""

import ast
from pathlib import Path

from keystead.protocols.oauth2 import errors

SPEC_CODES = {
    # RFC 6749 sections 4.1.2.1 and 5.2
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "unsupported_response_type",
    "invalid_scope",
    "access_denied",
    "server_error",
    "temporarily_unavailable",
    # RFC 6750 section 3.1, RFC 7009 section 2.2.1
    "invalid_token",
    "insufficient_scope",
    "unsupported_token_type",
    # OIDC Core section 3.1.2.6
    "interaction_required",
    "login_required",
    "account_selection_required",
    "consent_required",
    "invalid_request_uri",
    "invalid_request_object",
    "request_not_supported",
    "request_uri_not_supported",
    "registration_not_supported",
}


def test_one_class_per_spec_code():
    assert set(errors.ERROR_CLASSES) == SPEC_CODES
    for code, cls in errors.ERROR_CLASSES.items():
        assert cls(description="d").to_dict() == {"error": code, "error_description": "d"}


def test_detail_is_not_in_the_wire_format():
    error = errors.InvalidGrant("public", detail="secret detail")
    assert "secret detail" not in str(error.to_dict())


def test_protocols_import_no_io_libraries():
    forbidden = {"starlette", "sqlalchemy", "httpx", "uvicorn", "requests", "psycopg", "jinja2", "fastapi"}
    root = Path(__file__).parents[2] / "src" / "keystead" / "protocols"
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in forbidden, f"{path} imports {name}"
                assert not name.startswith(("keystead.services", "keystead.adapters", "keystead.http")), path
