// An independent SAML service provider for the IdP's tests: @node-saml/node-saml or
// samlify from npm, driven by the Python test over stdin/stdout, one JSON object a line.
//
// Started with NODE_PATH-less `node npm_sp.mjs MODULES_DIR`; the first line sets it up:
//   {"op": "init", "lib": "node-saml"|"samlify", "entity_id", "acs", "slo", "idp_metadata",
//    "key", "cert", "nameid_format", "encrypted"}            -> {"metadata": SP metadata}
// then:
//   {"op": "authn", "binding": "redirect"|"post", "relay_state"}
//        -> {"url"} (redirect) or {"url", "fields"} (post: the form the browser submits)
//   {"op": "acs", "body": {SAMLResponse, RelayState}}        -> {"profile"} or {"error"}
//   {"op": "logout", "name_id", "format", "session_index"}   -> {"url"} (LogoutRequest, redirect)
//   {"op": "slo_request", "query", "raw"}                     -> {"name_id", "session_index", "url"}
//   {"op": "slo_response", "query", "raw"}                    -> {"ok", "status"} or {"error"}
// Every message's signature is checked by the library against the IdP's metadata.
import { createRequire } from "node:module";
import readline from "node:readline";

const require = createRequire(process.argv[2] + "/");
console.log = console.info = console.warn = console.error; // stdout carries the answers only
let sp = null;

const IDP_SSO = (md, binding) => {
  const re = new RegExp(`SingleSignOnService[^>]*Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-${binding}"[^>]*Location="([^"]+)"`);
  const alt = new RegExp(`SingleSignOnService[^>]*Location="([^"]+)"[^>]*Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-${binding}"`);
  const found = md.match(re) || md.match(alt);
  return found && found[1];
};
const IDP_SLO = (md) => (md.match(/SingleLogoutService[^>]*Location="([^"]+Redirect\/SLO)"/) || [])[1];
const IDP_CERTS = (md) => {
  // the signing certificates of the IdP's metadata (KeyDescriptor use="signing")
  const certs = [];
  for (const kd of md.split(/<(?:\w+:)?KeyDescriptor/).slice(1)) {
    if (!/use="signing"/.test(kd.split(">")[0])) continue;
    const found = kd.match(/<(?:\w+:)?X509Certificate>([^<]+)</);
    if (found) certs.push(found[1].replace(/\s+/g, ""));
  }
  if (!certs.length) throw new Error("no signing certificate in the IdP's metadata");
  return certs;
};
const FORM_FIELDS = (html) => Object.fromEntries(
  [...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1], m[2]
    .replace(/&#x2F;/g, "/").replace(/&#x3D;/g, "=").replace(/&#x2B;/g, "+").replace(/&quot;/g, '"')
    .replace(/&amp;/g, "&")]));

function nodeSaml(init) {
  const { SAML } = require("@node-saml/node-saml");
  const { InMemoryCacheProvider } = require("@node-saml/node-saml/lib/in-memory-cache-provider");
  const common = {
    cacheProvider: new InMemoryCacheProvider({}), // both bindings' request IDs, for InResponseTo
    issuer: init.entity_id, callbackUrl: init.acs, audience: init.entity_id,
    idpCert: IDP_CERTS(init.idp_metadata), idpIssuer: init.idp_entity_id,
    privateKey: init.key, publicCert: init.cert, decryptionPvk: init.key,
    signatureAlgorithm: "sha256", identifierFormat: init.nameid_format,
    wantAuthnResponseSigned: true, wantAssertionsSigned: false,
    validateInResponseTo: "ifPresent", acceptedClockSkewMs: 60000,
    logoutUrl: IDP_SLO(init.idp_metadata), logoutCallbackUrl: init.slo,
  };
  const redirect = new SAML({ ...common, entryPoint: IDP_SSO(init.idp_metadata, "Redirect"),
    authnRequestBinding: "HTTP-Redirect" });
  // node-saml DEFLATEs the HTTP-POST binding's SAMLRequest unless told not to (Bindings
  // 3.5.4 says base64 of the XML only; the IdP refuses a deflated one)
  const post = new SAML({ ...common, entryPoint: IDP_SSO(init.idp_metadata, "POST"),
    authnRequestBinding: "HTTP-POST", skipRequestCompression: true });
  const ops = {
    metadata: () => redirect.generateServiceProviderMetadata(init.cert, init.cert),
    authn: async (m) => {
      if (m.binding === "redirect") return { url: await redirect.getAuthorizeUrlAsync(m.relay_state, undefined, {}) };
      const form = await post.getAuthorizeFormAsync(m.relay_state);
      return { url: IDP_SSO(init.idp_metadata, "POST"), fields: FORM_FIELDS(form) };
    },
    acs: async (m) => {
      const { profile } = await redirect.validatePostResponseAsync(m.body);
      const attrs = {};
      for (const [k, v] of Object.entries(profile.attributes || {})) attrs[k] = Array.isArray(v) ? v : [v];
      return { profile: { nameID: profile.nameID, nameIDFormat: profile.nameIDFormat,
        sessionIndex: profile.sessionIndex, issuer: profile.issuer, attributes: attrs } };
    },
    logout: async (m) => ({ url: await redirect.getLogoutUrlAsync({
      issuer: init.entity_id, nameID: m.name_id, nameIDFormat: m.format,
      sessionIndex: m.session_index }, "bye", {}) }),
    slo_request: async (m) => {
      const { profile } = await redirect.validateRedirectAsync(m.query, m.raw);
      const url = await redirect.getLogoutResponseUrlAsync(profile, m.query.RelayState, {}, true);
      return { name_id: profile.nameID, session_index: profile.sessionIndex, url };
    },
    slo_response: async (m) => {
      const { loggedOut } = await redirect.validateRedirectAsync(m.query, m.raw);
      return { ok: loggedOut };
    },
  };
  return ops;
}

function samlify(init) {
  const lib = require("samlify");
  const validator = require("@authenio/samlify-node-xmllint");
  lib.setSchemaValidator(validator);
  // samlify decrypts only when the *IdP* entity says isAssertionEncrypted (flow.js reads
  // from.entitySetting); the SP's own flag only goes into its metadata and requests
  const idp = lib.IdentityProvider({ metadata: init.idp_metadata, wantLogoutRequestSigned: true,
    wantLogoutResponseSigned: true, isAssertionEncrypted: Boolean(init.encrypted) });
  const s = lib.ServiceProvider({
    entityID: init.entity_id, authnRequestsSigned: false, wantAssertionsSigned: false,
    wantMessageSigned: true, wantLogoutResponseSigned: true, wantLogoutRequestSigned: true,
    privateKey: init.key, signingCert: init.cert, encPrivateKey: init.key, encryptCert: init.cert,
    isAssertionEncrypted: Boolean(init.encrypted), nameIDFormat: [init.nameid_format],
    requestSignatureAlgorithm: "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    assertionConsumerService: [{ Binding: lib.Constants.namespace.binding.post, Location: init.acs }],
    singleLogoutService: [{ Binding: lib.Constants.namespace.binding.redirect, Location: init.slo }],
    clockDrifts: [-60000, 60000],
  });
  const flat = (attrs) => Object.fromEntries(Object.entries(attrs || {}).map(
    ([k, v]) => [k, Array.isArray(v) ? v : [v]]));
  return {
    metadata: () => s.getMetadata(),
    authn: async (m) => {
      const ctx = s.createLoginRequest(idp, m.binding, { relayState: m.relay_state });
      if (m.binding === "redirect") return { url: ctx.context };
      return { url: ctx.entityEndpoint, fields: { [ctx.type]: ctx.context, RelayState: ctx.relayState } };
    },
    acs: async (m) => {
      const { extract, samlContent } = await s.parseLoginResponse(idp, "post", { body: m.body });
      return { profile: { nameID: extract.nameID, sessionIndex: extract.sessionIndex?.sessionIndex,
        issuer: extract.issuer, attributes: flat(extract.attributes),
        encrypted: /EncryptedAssertion/.test(Buffer.from(m.body.SAMLResponse, "base64").toString()) },
      content: samlContent.length };
    },
    logout: async (m) => ({ url: s.createLogoutRequest(idp, "redirect",
      { logoutNameID: m.name_id, sessionIndex: m.session_index }, { relayState: "bye" }).context }),
    slo_request: async (m) => {
      const octet = m.raw.split("&").filter((p) => !p.startsWith("Signature=")).join("&");
      const result = await s.parseLogoutRequest(idp, "redirect", { query: m.query, octetString: octet });
      const url = s.createLogoutResponse(idp, result, "redirect", { relayState: m.query.RelayState }).context;
      return { name_id: result.extract.nameID, session_index: result.extract.sessionIndex, url };
    },
    slo_response: async (m) => {
      const octet = m.raw.split("&").filter((p) => !p.startsWith("Signature=")).join("&");
      const result = await s.parseLogoutResponse(idp, "redirect", { query: m.query, octetString: octet });
      return { ok: /status:Success/.test(result.samlContent), status: result.extract.response };
    },
  };
}

const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  let out;
  try {
    const m = JSON.parse(line);
    if (m.op === "init") {
      sp = m.lib === "samlify" ? samlify(m) : nodeSaml(m);
      out = { metadata: sp.metadata() };
    } else {
      out = await sp[m.op](m);
    }
  } catch (err) {
    out = { error: String(err && err.message ? err.message : err) };
  }
  process.stdout.write(JSON.stringify(out) + "\n");
}
