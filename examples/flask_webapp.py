"""A web app that signs users in with Keystead: Flask + Authlib (OpenID Connect, PKCE).

    KEYSTEAD_ISSUER=http://localhost:8000/t/demo CLIENT_ID=... CLIENT_SECRET=... \\
    APP_URL=http://127.0.0.1:5000 SECRET_KEY=$(python -c 'import secrets;print(secrets.token_hex())') \\
        flask --app examples.flask_webapp run --port 5000

Register the client with ``--redirect-uri {APP_URL}/callback`` and
``--post-logout-redirect-uri {APP_URL}/``.
"""

from __future__ import annotations

import os
from urllib.parse import urlencode

from authlib.integrations.flask_client import OAuth
from flask import Flask, redirect, session, url_for
from markupsafe import escape
from werkzeug.wrappers import Response

ISSUER = os.environ["KEYSTEAD_ISSUER"]
APP_URL = os.environ.get("APP_URL", "http://127.0.0.1:5000")

app = Flask(__name__)
app.secret_key = os.environ["SECRET_KEY"]
oauth = OAuth(app)
keystead = oauth.register(
    "keystead",
    client_id=os.environ["CLIENT_ID"],
    client_secret=os.environ["CLIENT_SECRET"],
    server_metadata_url=f"{ISSUER}/.well-known/openid-configuration",
    client_kwargs={"scope": "openid profile email", "code_challenge_method": "S256"},
)


@app.get("/")
def home() -> str:
    user = session.get("user")
    if not user:
        return '<h1>Welcome</h1><a href="/login">Sign in with Keystead</a>'
    return f'<h1>Hello {escape(user.get("name") or user["sub"])}</h1><p>{escape(user.get("email", ""))}</p><a href="/logout">Sign out</a>'


@app.get("/login")
def login() -> Response:
    return keystead.authorize_redirect(f"{APP_URL}/callback")  # type: ignore[no-any-return]


@app.get("/callback")
def callback() -> Response:
    token = keystead.authorize_access_token()  # checks state, iss, the ID token and its nonce
    # Profile and email claims come from UserInfo (OIDC Core 5.4), the ID token carries `sub`.
    session["user"] = dict(keystead.userinfo(token=token))
    session["id_token"] = token["id_token"]
    return redirect(url_for("home"))


@app.get("/logout")
def logout() -> Response:
    id_token = session.pop("id_token", None)
    session.clear()
    end_session = keystead.load_server_metadata()["end_session_endpoint"]
    query = urlencode({"id_token_hint": id_token or "", "post_logout_redirect_uri": f"{APP_URL}/"})
    return redirect(f"{end_session}?{query}")
