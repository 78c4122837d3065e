// openid-client 6.x (an OpenID-certified RP) against a live Keystead. Each scenario returns what
// pytest asserts on; openid-client itself checks discovery, the authorization response (state,
// RFC 9207 iss), PKCE, and the ID token (signature via JWKS, alg, iss, aud, exp, iat, nonce).
// Usage: KEYSTEAD_LIVE='<LiveServer JSON>' node openid_client.mjs [scenario ...]
import * as client from 'openid-client';
import { Browser, loadLive, rejected, runScenarios } from './driver.mjs';

const live = loadLive();
const issuer = new URL(live.issuer);
const execute = [client.enableNonRepudiationChecks];
if (issuer.protocol === 'http:') execute.push(client.allowInsecureRequests);

async function discover(auth = 'basic') {
  if (auth === 'none') {
    const metadata = { token_endpoint_auth_method: 'none', id_token_signed_response_alg: 'ES256' };
    return client.discovery(issuer, live.public_client_id, metadata, client.None(), { execute });
  }
  const method = auth === 'post' ? client.ClientSecretPost : client.ClientSecretBasic;
  const metadata = { client_secret: live.client_secret, id_token_signed_response_alg: 'RS256' };
  return client.discovery(issuer, live.client_id, metadata, method(live.client_secret), { execute });
}

// One authorization: returns the callback URL and the checks openid-client needs for it.
async function authorize(config, browser, params = {}, { login = true } = {}) {
  const pkceCodeVerifier = client.randomPKCECodeVerifier();
  const expectedState = client.randomState();
  const expectedNonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: live.redirect_uri,
    scope: 'openid profile email',
    state: expectedState,
    nonce: expectedNonce,
    code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
    code_challenge_method: 'S256',
    ...params,
  });
  const landing = await browser.go(url, { login });
  const checks = { pkceCodeVerifier, expectedState, expectedNonce, idTokenExpected: true };
  return { callback: landing.url, pages: landing.pages, checks };
}

async function codeFlow(config, browser, params = {}, extraChecks = {}) {
  const { callback, pages, checks } = await authorize(config, browser, params);
  const tokens = await client.authorizationCodeGrant(config, callback, { ...checks, ...extraChecks });
  return { tokens, claims: tokens.claims(), pages };
}

const shared = { browser: new Browser(live) };

await runScenarios({
  async discovery() {
    const config = await discover();
    const md = config.serverMetadata();
    return { issuer: md.issuer, pkce: md.supportsPKCE(), iss_parameter: md.authorization_response_iss_parameter_supported };
  },

  // oidcc-server + oidcc-userinfo-get + oidcc-refresh-token + introspection
  async happy_path() {
    const config = await discover();
    const { tokens, claims, pages } = await codeFlow(config, shared.browser);
    const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    const introspection = await client.tokenIntrospection(config, tokens.access_token);
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
    const refreshedUserinfo = await client.fetchUserInfo(config, refreshed.access_token, claims.sub);
    return {
      pages,
      claims,
      token_type: tokens.token_type,
      expires_in: tokens.expiresIn(),
      userinfo,
      introspection_active: introspection.active,
      refreshed_claims: refreshed.claims(),
      refresh_rotated: refreshed.refresh_token !== tokens.refresh_token,
      refreshed_userinfo_sub: refreshedUserinfo.sub,
      old_refresh_reuse: await rejected(() => client.refreshTokenGrant(config, tokens.refresh_token)),
    };
  },

  // oidcc-prompt-none-logged-in / oidcc-max-age-10000 / oidcc-id-token-hint, silently on the SSO session
  async prompt_none_logged_in() {
    const config = await discover();
    const { tokens, claims: first } = await codeFlow(config, shared.browser);
    const params = { prompt: 'none', max_age: '10000', id_token_hint: tokens.id_token };
    const { claims, pages } = await codeFlow(config, shared.browser, params, { maxAge: 10000 });
    return { pages, sub: claims.sub, first_sub: first.sub, auth_time: claims.auth_time, first_auth_time: first.auth_time };
  },

  async client_secret_post() {
    const config = await discover('post');
    const { tokens, claims } = await codeFlow(config, new Browser(live));
    const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    return { sub: claims.sub, userinfo_sub: userinfo.sub };
  },

  // oidcc-ensure-request-with-valid-pkce-succeeds: a public client, PKCE only
  async public_client_pkce() {
    const config = await discover('none');
    const { tokens, claims } = await codeFlow(config, new Browser(live));
    const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
    return { sub: claims.sub, aud: claims.aud, userinfo_sub: userinfo.sub, refreshed: Boolean(refreshed.access_token) };
  },

  // oidcc-prompt-none-not-logged-in: the error comes back to the redirect URI, with iss and state
  async prompt_none_not_logged_in() {
    const config = await discover();
    const { callback, checks } = await authorize(config, new Browser(live), { prompt: 'none' }, { login: false });
    return { error: await rejected(() => client.authorizationCodeGrant(config, callback, checks)) };
  },

  // negatives: openid-client must refuse these
  async state_mismatch() {
    const config = await discover();
    const { callback, checks } = await authorize(config, shared.browser);
    return { error: await rejected(() => client.authorizationCodeGrant(config, callback, { ...checks, expectedState: client.randomState() })) };
  },

  async nonce_mismatch() {
    const config = await discover();
    const { callback, checks } = await authorize(config, shared.browser);
    return { error: await rejected(() => client.authorizationCodeGrant(config, callback, { ...checks, expectedNonce: client.randomNonce() })) };
  },

  async tampered_iss() {
    const config = await discover();
    const { callback, checks } = await authorize(config, shared.browser);
    callback.searchParams.set('iss', 'https://attacker.example');
    return { error: await rejected(() => client.authorizationCodeGrant(config, callback, checks)) };
  },

  // oidcc-idtoken-signature, seen from the RP: a token response whose ID token was altered in
  // transit fails openid-client's JWKS signature check (enableNonRepudiationChecks)
  async forged_id_token() {
    const config = await discover();
    const { callback, checks } = await authorize(config, shared.browser);
    config[client.customFetch] = async (url, options) => {
      const res = await fetch(url, options);
      if (url !== config.serverMetadata().token_endpoint) return res;
      const body = await res.json();
      const [head, payload, signature] = body.id_token.split('.');
      const claims = JSON.parse(Buffer.from(payload, 'base64url'));
      claims.sub = 'mallory';
      body.id_token = [head, Buffer.from(JSON.stringify(claims)).toString('base64url'), signature].join('.');
      return new Response(JSON.stringify(body), { status: res.status, headers: res.headers });
    };
    return { error: await rejected(() => client.authorizationCodeGrant(config, callback, checks)) };
  },

  // oidcc-codereuse(-30seconds): the replay is invalid_grant and revokes what the code issued
  async code_reuse() {
    const config = await discover();
    const { callback, checks } = await authorize(config, shared.browser);
    const tokens = await client.authorizationCodeGrant(config, callback, checks);
    const sub = tokens.claims().sub;
    await client.fetchUserInfo(config, tokens.access_token, sub);
    const replay = await rejected(() => client.authorizationCodeGrant(config, callback, checks));
    const userinfo_after = await rejected(() => client.fetchUserInfo(config, tokens.access_token, sub));
    const introspection = await client.tokenIntrospection(config, tokens.access_token);
    return { replay, userinfo_after, introspection_active: introspection.active };
  },

  // RFC 7009 revocation, then RP-Initiated Logout built by openid-client
  async revocation_and_logout() {
    const config = await discover();
    const browser = new Browser(live);
    const { tokens } = await codeFlow(config, browser);
    await client.tokenRevocation(config, tokens.refresh_token);
    const refresh_after_revoke = await rejected(() => client.refreshTokenGrant(config, tokens.refresh_token));
    const state = client.randomState();
    const url = client.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token,
      post_logout_redirect_uri: live.post_logout_redirect_uri,
      state,
    });
    const logout = await browser.logout(url);
    const { callback, checks } = await authorize(config, browser, { prompt: 'none' }, { login: false });
    const after = await rejected(() => client.authorizationCodeGrant(config, callback, checks));
    return { refresh_after_revoke, logout, expected_location: `${live.post_logout_redirect_uri}?state=${state}`, after };
  },
});
