// Shared by the relying-party scripts: stdin input, a cookie-jar user agent that signs in
// and consents through the provider's forms, and the code flow with PKCE.
import * as client from "openid-client";

export const input = JSON.parse(await new Promise((resolve) => {
  let data = "";
  process.stdin.on("data", (chunk) => { data += chunk; });
  process.stdin.on("end", () => resolve(data));
}));
export const insecure = { execute: [client.allowInsecureRequests] };

class Jar {
  constructor() { this.cookies = new Map(); }
  store(res) {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const i = pair.indexOf("=");
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      if (value === "" || value === '""' || /max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header() { return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "); }
}
export const jar = new Jar();

export async function browse(url, init = {}) {
  const headers = { ...(init.headers || {}), cookie: jar.header() };
  const res = await fetch(url, { ...init, headers, redirect: "manual" });
  jar.store(res);
  return res;
}

export function hiddenFields(html) {
  const fields = {};
  const re = /<input type="hidden" name="([^"]+)" value="([^"]*)"/g;
  for (const m of html.matchAll(re)) {
    fields[m[1]] = m[2].replace(/&#34;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  }
  return fields;
}

export async function postForm(path, fields) {
  return browse(new URL(path, input.issuer), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields).toString(),
  });
}

// Sign in (if asked) and consent (if asked); returns the final response.
export async function userAgent(authorizationUrl, steps) {
  let res = await browse(authorizationUrl);
  let html = res.status === 200 ? await res.text() : "";
  if (html.includes('name="password"')) {
    steps.push("login");
    res = await postForm("/oxauth/login", {
      ...hiddenFields(html), username: input.username, password: input.password,
    });
    html = res.status === 200 ? await res.text() : "";
  }
  if (html.includes('name="decision"')) {
    steps.push("consent");
    res = await postForm("/oxauth/consent", { ...hiddenFields(html), decision: "allow" });
    html = res.status === 200 ? await res.text() : "";
  }
  return { res, html };
}

export async function codeFlow(config, redirectUri, scope, label) {
  const verifier = client.randomPKCECodeVerifier();
  const challenge = await client.calculatePKCECodeChallenge(verifier);
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri, scope, code_challenge: challenge,
    code_challenge_method: "S256", state, nonce,
  });
  const steps = [];
  const { res } = await userAgent(url, steps);
  if (res.status !== 302 && res.status !== 303) {
    throw new Error(`${label}: expected a redirect, got ${res.status}`);
  }
  const tokens = await client.authorizationCodeGrant(
    config, new URL(res.headers.get("location")),
    { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true },
  );
  return { tokens, steps };
}

