// oauth4webapi 3.x (panva's low-level, spec-strict OAuth 2 / OIDC client) against a live Keystead.
// Each step is explicit: discovery (issuer match), validateAuthResponse (state, RFC 9207 iss),
// the code grant (PKCE, ID token iss/aud/exp/iat/nonce), the ID token signature against the JWKS,
// userinfo (sub must match), refresh and introspection.
// Usage: KEYSTEAD_LIVE='<LiveServer JSON>' node oauth4webapi.mjs [scenario ...]
import * as oauth from 'oauth4webapi';
import { Browser, loadLive, rejected, runScenarios } from './driver.mjs';

const live = loadLive();
const issuer = new URL(live.issuer);
const http = issuer.protocol === 'http:' ? { [oauth.allowInsecureRequests]: true } : {};
const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...http, algorithm: 'oidc' }));
const confidential = { client_id: live.client_id, id_token_signed_response_alg: 'RS256' };
const basic = oauth.ClientSecretBasic(live.client_secret);

async function authorize(browser, params = {}, { login = true } = {}) {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  const url = new URL(as.authorization_endpoint);
  const query = {
    client_id: confidential.client_id,
    redirect_uri: live.redirect_uri,
    response_type: 'code',
    scope: 'openid profile email',
    state,
    nonce,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...params,
  };
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const landing = await browser.go(url, { login });
  return { callback: landing.url, pages: landing.pages, verifier, state, nonce };
}

async function exchange(callback, verifier, state, nonce, auth = basic) {
  const params = oauth.validateAuthResponse(as, confidential, callback, state);
  const response = await oauth.authorizationCodeGrantRequest(as, confidential, auth, params, live.redirect_uri, verifier, http);
  const tokens = await oauth.processAuthorizationCodeResponse(as, confidential, response, { expectedNonce: nonce, requireIdToken: true });
  await oauth.validateApplicationLevelSignature(as, response, http);
  return { tokens, claims: oauth.getValidatedIdTokenClaims(tokens) };
}

async function userinfo(accessToken, expectedSubject) {
  const response = await oauth.userInfoRequest(as, confidential, accessToken, http);
  return oauth.processUserInfoResponse(as, confidential, expectedSubject, response);
}

const browser = new Browser(live);

await runScenarios({
  async discovery() {
    const wrong = new URL(`${live.issuer}-other`);
    const mismatch = await rejected(async () => oauth.processDiscoveryResponse(wrong, await oauth.discoveryRequest(issuer, http)));
    return { issuer: as.issuer, iss_parameter: as.authorization_response_iss_parameter_supported, mismatch };
  },

  // RFC 8414 section 3.1: the metadata of an issuer with a path, at the path-inserted location
  async rfc8414_discovery() {
    const response = await oauth.discoveryRequest(issuer, { ...http, algorithm: 'oauth2' });
    const metadata = await oauth.processDiscoveryResponse(issuer, response);
    return { url: response.url, issuer: metadata.issuer, token_endpoint: metadata.token_endpoint };
  },

  // oidcc-server + oidcc-userinfo-get + oidcc-refresh-token
  async happy_path() {
    const { callback, pages, verifier, state, nonce } = await authorize(browser);
    const { tokens, claims } = await exchange(callback, verifier, state, nonce);
    const info = await userinfo(tokens.access_token, claims.sub);
    const wrongSubject = await rejected(async () => userinfo(tokens.access_token, 'someone-else'));
    const refreshResponse = await oauth.refreshTokenGrantRequest(as, confidential, basic, tokens.refresh_token, http);
    const refreshed = await oauth.processRefreshTokenResponse(as, confidential, refreshResponse);
    await oauth.validateApplicationLevelSignature(as, refreshResponse, http);
    const introspection = await oauth.processIntrospectionResponse(
      as,
      confidential,
      await oauth.introspectionRequest(as, confidential, basic, refreshed.access_token, http),
    );
    return {
      pages,
      claims,
      token_type: tokens.token_type,
      expires_in: tokens.expires_in,
      userinfo: info,
      wrong_subject: wrongSubject,
      refreshed_claims: oauth.getValidatedIdTokenClaims(refreshed),
      refresh_rotated: refreshed.refresh_token !== tokens.refresh_token,
      introspection_active: introspection.active,
    };
  },

  async client_secret_post() {
    const { callback, verifier, state, nonce } = await authorize(new Browser(live));
    const { tokens, claims } = await exchange(callback, verifier, state, nonce, oauth.ClientSecretPost(live.client_secret));
    return { sub: claims.sub, userinfo_sub: (await userinfo(tokens.access_token, claims.sub)).sub };
  },

  // negatives: validateAuthResponse must refuse these authorization responses
  async tampered_iss() {
    const { callback, state } = await authorize(browser);
    callback.searchParams.set('iss', 'https://attacker.example');
    return { error: await rejected(() => oauth.validateAuthResponse(as, confidential, callback, state)) };
  },

  async missing_iss() {
    const { callback, state } = await authorize(browser);
    callback.searchParams.delete('iss');
    return { error: await rejected(() => oauth.validateAuthResponse(as, confidential, callback, state)) };
  },

  async state_mismatch() {
    const { callback } = await authorize(browser);
    return { error: await rejected(() => oauth.validateAuthResponse(as, confidential, callback, oauth.generateRandomState())) };
  },

  async nonce_mismatch() {
    const { callback, verifier, state } = await authorize(browser);
    return { error: await rejected(() => exchange(callback, verifier, state, oauth.generateRandomNonce())) };
  },

  // oidcc-prompt-none-not-logged-in: an error response, still with a valid iss and state
  async prompt_none_not_logged_in() {
    const { callback, state } = await authorize(new Browser(live), { prompt: 'none' }, { login: false });
    return { error: await rejected(() => oauth.validateAuthResponse(as, confidential, callback, state)) };
  },

  // oidcc-codereuse: the replay is invalid_grant and revokes the first access token
  async code_reuse() {
    const { callback, verifier, state, nonce } = await authorize(browser);
    const { tokens, claims } = await exchange(callback, verifier, state, nonce);
    const replay = await rejected(() => exchange(callback, verifier, state, nonce));
    const userinfo_after = await rejected(() => userinfo(tokens.access_token, claims.sub));
    return { replay, userinfo_after };
  },

  // PKCE: a wrong code_verifier is invalid_grant
  async pkce_wrong_verifier() {
    const { callback, state, nonce } = await authorize(browser);
    return { error: await rejected(() => exchange(callback, oauth.generateRandomCodeVerifier(), state, nonce)) };
  },
});
