// openid-client configured for cnsgate: discovery, the code flow with PKCE
// S256 and nonce, the ID token's checks, /userinfo, and the end-session URL.
import * as client from 'openid-client';

// cnsgateConfig reads cnsgate's discovery document; the client
// authenticates at /token with client_secret_basic.
export async function cnsgateConfig(issuer, clientID, clientSecret) {
  return client.discovery(new URL(issuer), clientID, undefined, client.ClientSecretBasic(clientSecret));
}

// startLogin gives the URL to send the browser to, and what to keep in the
// application's session until the browser comes back.
export async function startLogin(config, redirectURI) {
  const pending = {
    verifier: client.randomPKCECodeVerifier(),
    state: client.randomState(),
    nonce: client.randomNonce(),
  };
  const authURL = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectURI,
    scope: 'openid profile fiscal_number',
    code_challenge: await client.calculatePKCECodeChallenge(pending.verifier),
    code_challenge_method: 'S256', // cnsgate requires PKCE S256
    state: pending.state,
    nonce: pending.nonce,
  });
  return { authURL, pending };
}

// finishLogin, at the redirect URI (currentURL: the whole URL the browser
// came back to), exchanges the code, checks the ID token (signature, iss,
// aud, exp, nonce, state) and fetches /userinfo for the same subject.
export async function finishLogin(config, currentURL, pending) {
  const tokens = await client.authorizationCodeGrant(config, currentURL, {
    pkceCodeVerifier: pending.verifier,
    expectedState: pending.state,
    expectedNonce: pending.nonce,
    idTokenExpected: true,
  });
  const claims = tokens.claims(); // fiscal_number, given_name, acr, amr, sid, auth_time...
  const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  return { tokens, claims, info };
}

// logoutURL is cnsgate's end_session_endpoint for "Esci": with the ID
// token of the current session, cnsgate ends it at once and comes back to
// postLogoutURI with state.
export function logoutURL(config, idToken, postLogoutURI, state) {
  return client.buildEndSessionUrl(config, {
    id_token_hint: idToken, post_logout_redirect_uri: postLogoutURI, state,
  });
}
