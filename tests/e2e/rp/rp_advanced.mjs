// openid-client driving oxAuth's implicit and hybrid flows (fragment and form_post), JWT
// client authentication (private_key_jwt, client_secret_jwt) and an RFC 9068 JWT access
// token validated with oauth4webapi's validateJwtAccessToken. Every client is registered
// dynamically (RFC 7591). Input and output as rp.mjs; Python asserts on the output
// (tests/e2e/test_openid_client_advanced.py).
import * as client from "openid-client";
import * as oauth from "oauth4webapi";
import { codeFlow, hiddenFields, input, insecure, userAgent } from "./lib.mjs";

const out = {};
const issuer = new URL(input.issuer);

async function register(metadata, auth) {
  const registered = await client.dynamicClientRegistration(issuer, {
    redirect_uris: [input.redirect_uri], client_name: "openid-client e2e", ...metadata,
  }, undefined, insecure);
  const m = registered.clientMetadata();
  const config = await client.discovery(issuer, m.client_id, undefined, auth(m), insecure);
  client.enableNonRepudiationChecks(config);
  return { config, metadata: m };
}

// The authorization response as the RP's redirect endpoint receives it: a URL (query or
// fragment) or, for form_post, the browser's POST to the redirect URI as a Request.
async function authorizationResponse(config, params, mode) {
  const url = client.buildAuthorizationUrl(config, { redirect_uri: input.redirect_uri, ...params, response_mode: mode });
  const steps = [];
  const { res, html } = await userAgent(url, steps);
  if (mode === "form_post") {
    if (res.status !== 200 || !html.includes('method="post"')) throw new Error(`form_post: got ${res.status}`);
    const fields = hiddenFields(html);
    return {
      steps, fields: Object.keys(fields).sort(),
      response: new Request(input.redirect_uri, {
        method: "POST", body: new URLSearchParams(fields).toString(),
        headers: { "content-type": "application/x-www-form-urlencoded" },
      }),
    };
  }
  const location = new URL(res.headers.get("location"));
  return { steps, fields: [...new URLSearchParams(location.hash.slice(1)).keys()].sort(), response: location };
}

// 1. implicit (response_type id_token), fragment and form_post
const implicit = await register(
  { grant_types: ["implicit"], response_types: ["id_token"], token_endpoint_auth_method: "none" },
  () => client.None(),
);
client.useIdTokenResponseType(implicit.config);
out.implicit = {};
for (const mode of ["fragment", "form_post"]) {
  const nonce = client.randomNonce();
  const state = client.randomState();
  const got = await authorizationResponse(implicit.config, { scope: "openid", nonce, state }, mode);
  const claims = await client.implicitAuthentication(implicit.config, got.response, nonce, { expectedState: state });
  out.implicit[mode] = { steps: got.steps, fields: got.fields, sub: claims.sub, aud: claims.aud, nonce_ok: claims.nonce === nonce, acr: claims.acr, amr: claims.amr };
}

// 2. hybrid (response_type "code id_token"), fragment and form_post: the library checks
// the front-channel ID token (nonce, c_hash, signature), then redeems the code with PKCE
const hybrid = await register(
  { grant_types: ["authorization_code", "implicit"], response_types: ["code id_token"] },
  (m) => client.ClientSecretBasic(m.client_secret),
);
client.useCodeIdTokenResponseType(hybrid.config);
out.hybrid = {};
for (const mode of ["fragment", "form_post"]) {
  const nonce = client.randomNonce();
  const state = client.randomState();
  const verifier = client.randomPKCECodeVerifier();
  const got = await authorizationResponse(hybrid.config, {
    scope: "openid", nonce, state, code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
  }, mode);
  const tokens = await client.authorizationCodeGrant(hybrid.config, got.response, {
    expectedNonce: nonce, expectedState: state, pkceCodeVerifier: verifier, idTokenExpected: true,
  });
  const claims = tokens.claims();
  out.hybrid[mode] = { steps: got.steps, fields: got.fields, sub: claims.sub, aud: claims.aud, has_access_token: !!tokens.access_token };
}

// 3. private_key_jwt: the client's RSA key registered as jwks, assertions signed with it
const pair = await crypto.subtle.generateKey(
  { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
  true, ["sign", "verify"],
);
const publicJwk = { ...(await crypto.subtle.exportKey("jwk", pair.publicKey)), kid: "rp-key-1", alg: "RS256", use: "sig" };
delete publicJwk.key_ops;
delete publicJwk.ext;
const pkj = await register(
  { grant_types: ["client_credentials"], response_types: [], token_endpoint_auth_method: "private_key_jwt", jwks: { keys: [publicJwk] } },
  () => client.PrivateKeyJwt({ key: pair.privateKey, kid: "rp-key-1" }),
);
const pkjToken = await client.clientCredentialsGrant(pkj.config, { scope: "profile" });
const pkjIntro = await client.tokenIntrospection(pkj.config, pkjToken.access_token);
out.private_key_jwt = { method: pkj.metadata.token_endpoint_auth_method, has_secret: !!pkj.metadata.client_secret, token_type: pkjToken.token_type, active: pkjIntro.active, client_id_ok: pkjIntro.client_id === pkj.metadata.client_id };
// a second use of the same assertion is refused (jti single use): sign one, send it twice
{
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: "RS256", kid: "rp-key-1" };
  const claims = { iss: pkj.metadata.client_id, sub: pkj.metadata.client_id, aud: input.issuer, jti: client.randomState(), iat: now, exp: now + 60 };
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const signingInput = `${b64(header)}.${b64(claims)}`;
  const sig = Buffer.from(await crypto.subtle.sign("RSASSA-PKCS1-v1_5", pair.privateKey, new TextEncoder().encode(signingInput))).toString("base64url");
  const form = new URLSearchParams({
    grant_type: "client_credentials", client_id: pkj.metadata.client_id,
    client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", client_assertion: `${signingInput}.${sig}`,
  });
  const endpoint = pkj.config.serverMetadata().token_endpoint;
  const once = await fetch(endpoint, { method: "POST", body: form });
  const twice = await fetch(endpoint, { method: "POST", body: form });
  out.private_key_jwt.replay = { first: once.status, second: twice.status, error: (await twice.json()).error };
}

// 4. client_secret_jwt (HS256 over the registered secret)
const csj = await register(
  { grant_types: ["client_credentials"], response_types: [], token_endpoint_auth_method: "client_secret_jwt" },
  (m) => client.ClientSecretJwt(m.client_secret),
);
const csjToken = await client.clientCredentialsGrant(csj.config, { scope: "profile" });
out.client_secret_jwt = { method: csj.metadata.token_endpoint_auth_method, token_type: csjToken.token_type, has_access_token: !!csjToken.access_token };

// 5. a JWT access token client (RFC 9068): code flow, then the resource server's check
const jat = await register(
  { grant_types: ["authorization_code"], response_types: ["code"], access_token_format: "jwt" },
  (m) => client.ClientSecretBasic(m.client_secret),
);
const jatFlow = await codeFlow(jat.config, input.redirect_uri, "openid profile", "jwt access token");
const as = jat.config.serverMetadata();
const atClaims = await oauth.validateJwtAccessToken(
  as,
  new Request("https://api.example/resource", { headers: { authorization: `Bearer ${jatFlow.tokens.access_token}` } }),
  jat.metadata.client_id,
  { [oauth.allowInsecureRequests]: true },
);
const typ = JSON.parse(Buffer.from(jatFlow.tokens.access_token.split(".")[0], "base64url")).typ;
out.jwt_access_token = {
  steps: jatFlow.steps, typ, iss: atClaims.iss, aud: atClaims.aud, client_id: atClaims.client_id,
  sub_ok: atClaims.sub === jatFlow.tokens.claims().sub, scope: atClaims.scope, has_jti: !!atClaims.jti,
};
// the same token with one byte changed fails validation
const bad = jatFlow.tokens.access_token.slice(0, -3) + (jatFlow.tokens.access_token.endsWith("AAA") ? "BBB" : "AAA");
try {
  await oauth.validateJwtAccessToken(as, new Request("https://api.example/", { headers: { authorization: `Bearer ${bad}` } }), jat.metadata.client_id, { [oauth.allowInsecureRequests]: true });
  out.jwt_access_token.tampered_rejected = false;
} catch {
  out.jwt_access_token.tampered_rejected = true;
}
process.stdout.write(JSON.stringify(out) + "\n");
