// A relying party built on openid-client (a certified RP library) driving oxAuth.
// Input: one JSON object on stdin {issuer, client_id, client_secret, redirect_uri,
// post_logout_redirect_uri, username, password}. Output: one JSON object on stdout with
// what each flow returned; Python asserts on it (tests/e2e/test_openid_client.py).
// The browser part (login form, consent) is fetch with a cookie jar.
import * as client from "openid-client";
import { browse, codeFlow, input, insecure } from "./lib.mjs";

const out = {};
const t0 = Date.now();
// 1. discovery
const config = await client.discovery(
  new URL(input.issuer), input.client_id, undefined,
  client.ClientSecretBasic(input.client_secret), insecure,
);
client.enableNonRepudiationChecks(config); // the client verifies every ID token's signature
const meta = config.serverMetadata();
out.discovery = { issuer: meta.issuer, end_session_endpoint: meta.end_session_endpoint };

// 2. authorization code + PKCE, with login and consent
const first = await codeFlow(config, input.redirect_uri, "openid profile email offline_access", "code");
const claims = first.tokens.claims();
out.code = {
  steps: first.steps, token_type: first.tokens.token_type, has_refresh: !!first.tokens.refresh_token,
  sub: claims.sub, iss: claims.iss, aud: claims.aud, sid: claims.sid, auth_time: claims.auth_time,
  nonce_checked: true, scope: first.tokens.scope,
};

// 3. userinfo (sub must match the ID token's)
const userinfo = await client.fetchUserInfo(config, first.tokens.access_token, claims.sub);
out.userinfo = userinfo;

// 4. refresh (rotation: a new refresh token)
const refreshed = await client.refreshTokenGrant(config, first.tokens.refresh_token);
out.refresh = {
  access_token_changed: refreshed.access_token !== first.tokens.access_token,
  refresh_token_rotated: !!refreshed.refresh_token && refreshed.refresh_token !== first.tokens.refresh_token,
  id_token_sub: refreshed.id_token ? refreshed.claims().sub : null,
};

// 5. client credentials
const cc = await client.clientCredentialsGrant(config, { scope: "profile" });
out.client_credentials = { token_type: cc.token_type, has_access_token: !!cc.access_token, expires_in: cc.expires_in };

// 6. introspection, revocation, introspection again
const before = await client.tokenIntrospection(config, refreshed.access_token);
await client.tokenRevocation(config, refreshed.access_token);
const after = await client.tokenIntrospection(config, refreshed.access_token);
out.introspection = { active_before: before.active, sub_before: before.sub, client_id_before: before.client_id, active_after: after.active };

// 7. dynamic registration, then single sign-on for the new client (consent only)
const registered = await client.dynamicClientRegistration(
  new URL(input.issuer),
  {
    redirect_uris: [input.redirect_uri], post_logout_redirect_uris: [input.post_logout_redirect_uri],
    grant_types: ["authorization_code", "refresh_token"], response_types: ["code"],
    token_endpoint_auth_method: "client_secret_basic", client_name: "openid-client e2e",
  },
  undefined, insecure,
);
const regMeta = registered.clientMetadata();
const reg = await client.discovery(
  new URL(input.issuer), regMeta.client_id, undefined,
  client.ClientSecretBasic(regMeta.client_secret), insecure,
);
client.enableNonRepudiationChecks(reg);
const second = await codeFlow(reg, input.redirect_uri, "openid", "registered");
const secondClaims = second.tokens.claims();
out.registration = {
  client_id: regMeta.client_id, has_secret: !!regMeta.client_secret, steps: second.steps,
  same_sub: secondClaims.sub === claims.sub, same_sid: secondClaims.sid === claims.sid,
};

// 8. RP-initiated logout, then prove the session is gone (prompt=none -> login_required)
const logoutState = client.randomState();
const endUrl = client.buildEndSessionUrl(config, {
  id_token_hint: first.tokens.id_token, post_logout_redirect_uri: input.post_logout_redirect_uri,
  state: logoutState,
});
const endRes = await browse(endUrl);
const silent = client.buildAuthorizationUrl(config, {
  redirect_uri: input.redirect_uri, scope: "openid", prompt: "none", state: "after-logout",
  code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
  code_challenge_method: "S256",
});
const silentRes = await browse(silent);
out.logout = {
  status: endRes.status, location: endRes.headers.get("location"), state: logoutState,
  silent_location: silentRes.headers.get("location"),
};
out.elapsed_ms = Date.now() - t0;
process.stdout.write(JSON.stringify(out) + "\n");
