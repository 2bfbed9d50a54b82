// An upstream SAML 2.0 IdP for oxPassport's tests: samlify's IdentityProvider (npm samlify,
// schema validation by @authenio/samlify-node-xmllint: libxml2 in wasm, no Java), installed
// outside the project under $SAML_IDP_HOME.
//
//   GET  /metadata            the IdP's metadata (signing key KEY_FILE / CERT_FILE)
//   POST /sp?id=ID            body: the SP's metadata XML (OxSwarm's /passport/auth/meta/idp/ID)
//   GET  /sso?SAMLRequest=..&RelayState=..&SigAlg=..&Signature=..&sp=ID&login=..&variant=..
//        checks the AuthnRequest's redirect-binding signature against the SP's metadata,
//        then answers the auto-post form to the SP's ACS with a Response for `login`
//        (USERS, a JSON object login -> {email, givenName, sn, uid, nameFormat}); the form
//        submits itself on load (a browser), a script reads its fields. Without `login`
//        (a browser following the SP's redirect): a sign-in page, whose POST /login goes
//        back to /sso with the query as received and `login`; without `sp`: the SP whose
//        entityID is the AuthnRequest's Issuer.
// Variants (what a broken or hostile IdP sends): ok, unsigned, audience, expired,
// inresponseto, otherkey; encrypted (an honest one, the assertion encrypted to the SP).
'use strict';
const http = require('http');
const fs = require('fs');
const crypto = require('crypto');
const zlib = require('zlib');
const samlify = require('samlify');
const validator = require('@authenio/samlify-node-xmllint');

samlify.setSchemaValidator(validator);
const env = process.env;
const USERS = JSON.parse(env.USERS || '{}');
const ENTITY = env.ENTITY_ID;
const SSO = `${env.BASE_URL}/sso`;

function makeIdp(keyFile, certFile, encrypt = false) {
  return samlify.IdentityProvider({
    isAssertionEncrypted: encrypt,
    dataEncryptionAlgorithm: 'http://www.w3.org/2001/04/xmlenc#aes256-cbc',
    keyEncryptionAlgorithm: 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p',
    entityID: ENTITY,
    privateKey: fs.readFileSync(keyFile),
    signingCert: fs.readFileSync(certFile),
    wantAuthnRequestsSigned: true,
    requestSignatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    nameIDFormat: ['urn:oasis:names:tc:SAML:2.0:nameid-format:persistent'],
    singleSignOnService: [{Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect',
                           Location: SSO}],
  });
}
const idp = makeIdp(env.KEY_FILE, env.CERT_FILE);
const other = makeIdp(env.OTHER_KEY_FILE, env.OTHER_CERT_FILE);
const encrypting = makeIdp(env.KEY_FILE, env.CERT_FILE, true);  // to the SP's encryption key
const sps = {};  // provider id -> ServiceProvider
const byEntity = {};  // SP entityID -> ServiceProvider

function issuerOf(samlRequest) {  // the AuthnRequest's Issuer (redirect binding: deflated)
  const xml = zlib.inflateRawSync(Buffer.from(samlRequest, 'base64')).toString('utf8');
  const found = /Issuer[^>]*>([^<]+)</.exec(xml);
  return found ? found[1].trim() : '';
}

const escape = (text) => String(text).replace(/&/g, '&amp;').replace(/"/g, '&quot;')
  .replace(/</g, '&lt;');
let sp = null;

function attributes(user) {
  const one = (name, value) => value === undefined ? '' :
    `<saml:Attribute Name="${name}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri">` +
    `<saml:AttributeValue xsi:type="xs:string">${value}</saml:AttributeValue></saml:Attribute>`;
  return '<saml:AttributeStatement>' +
    one(user.mailName || 'urn:oid:0.9.2342.19200300.100.1.3', user.email) +
    one('urn:oid:2.5.4.42', user.givenName) + one('sn', user.sn) + one('uid', user.uid) +
    '</saml:AttributeStatement>';
}

async function respond(requestId, login, variant) {
  const user = USERS[login];
  if (!user) throw new Error(`no user ${login}`);
  const now = new Date();
  const iso = (ms) => new Date(now.getTime() + ms).toISOString();
  const expired = variant === 'expired';
  const acs = sp.entityMeta.getAssertionConsumerService('post');
  const id = '_' + crypto.randomBytes(16).toString('hex');
  const values = {
    ID: id, AssertionID: '_' + crypto.randomBytes(16).toString('hex'),
    Destination: acs, SubjectRecipient: acs, Issuer: ENTITY,
    IssueInstant: expired ? iso(-3600e3) : now.toISOString(),
    Audience: variant === 'audience' ? 'https://another-sp.example/metadata' : sp.entityMeta.getEntityID(),
    StatusCode: 'urn:oasis:names:tc:SAML:2.0:status:Success',
    ConditionsNotBefore: expired ? iso(-3600e3) : iso(-30e3),
    ConditionsNotOnOrAfter: expired ? iso(-3000e3) : iso(300e3),
    SubjectConfirmationDataNotOnOrAfter: expired ? iso(-3000e3) : iso(300e3),
    NameIDFormat: user.nameFormat || 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
    NameID: user.nameId || login,
    InResponseTo: variant === 'inresponseto' ? '_' + crypto.randomBytes(16).toString('hex') : requestId,
  };
  const raw = {  // XML fragments: not escaped as the values above are
    AuthnStatement: `<saml:AuthnStatement AuthnInstant="${now.toISOString()}" SessionIndex="${id}">` +
      '<saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password' +
      '</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>',
    AttributeStatement: attributes(user),
  };
  const signer = variant === 'otherkey' ? other : variant === 'encrypted' ? encrypting : idp;
  const made = await signer.createLoginResponse(sp, {extract: {request: {id: requestId}}}, 'post',
    {email: values.NameID}, (template) => ({
      id, context: samlify.SamlLib.replaceTagsByValue(
        template.replace('{AuthnStatement}', raw.AuthnStatement)
          .replace('{AttributeStatement}', raw.AttributeStatement), values)}),
    variant === 'encrypted');  // encrypt, then sign the Response over the encrypted assertion
  let message = made.context;
  if (variant === 'unsigned') {
    const xml = Buffer.from(message, 'base64').toString('utf8')
      .replace(/<ds:Signature[\s\S]*?<\/ds:Signature>/g, '');
    message = Buffer.from(xml).toString('base64');
  }
  return {action: acs, message};
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, env.BASE_URL);
  let body = '';
  req.on('data', (chunk) => { body += chunk; });
  req.on('end', async () => {
    try {
      if (req.method === 'GET' && url.pathname === '/metadata') {
        res.writeHead(200, {'Content-Type': 'application/samlmetadata+xml'});
        return res.end(idp.getMetadata());
      }
      if (req.method === 'POST' && url.pathname === '/sp') {
        const made = samlify.ServiceProvider({metadata: body});
        sps[url.searchParams.get('id')] = made;
        byEntity[made.entityMeta.getEntityID()] = made;
        res.writeHead(204);
        return res.end();
      }
      if (req.method === 'GET' && url.pathname === '/sso') {
        // the signed part of the redirect binding, as received (SAML Bindings 3.4.4.1)
        const raw = req.url.split('?')[1].split('&');
        const part = (name) => raw.find((p) => p.startsWith(name + '='));
        const octetString = ['SAMLRequest', 'RelayState', 'SigAlg'].map(part)
          .filter(Boolean).join('&');
        const query = Object.fromEntries(url.searchParams);
        if (!query.login) {  // a person at the IdP: its sign-in page
          res.writeHead(200, {'Content-Type': 'text/html'});
          return res.end('<!doctype html><title>IdP sign-in</title><form method="post" ' +
            `action="/login"><input type="hidden" name="query" value="${escape(req.url.split('?')[1])}">` +
            '<label for="login">Login</label><input id="login" name="login">' +
            '<button type="submit">Sign in at the IdP</button></form>');
        }
        sp = query.sp ? sps[query.sp] : byEntity[issuerOf(query.SAMLRequest)];
        const parsed = await idp.parseLoginRequest(sp, 'redirect', {query, octetString});
        const requestId = parsed.extract.request.id;
        const out = await respond(requestId, query.login, query.variant || 'ok');
        res.writeHead(200, {'Content-Type': 'text/html'});
        return res.end('<!doctype html><body onload="document.forms[0].submit()">' +
          `<form method="post" action="${out.action}">` +
          `<input type="hidden" name="SAMLResponse" value="${out.message}">` +
          `<input type="hidden" name="RelayState" value="${query.RelayState || ''}">` +
          `<input type="hidden" name="RequestID" value="${requestId}">` +
          '<noscript><button type="submit">Continue</button></noscript></form></body>');
      }
      if (req.method === 'POST' && url.pathname === '/login') {
        const form = new URLSearchParams(body);
        const login = encodeURIComponent(form.get('login') || '');
        res.writeHead(303, {Location: `/sso?${form.get('query')}&login=${login}`});
        return res.end();
      }
      res.writeHead(404);
      res.end('not found');
    } catch (err) {
      res.writeHead(400, {'Content-Type': 'text/plain'});
      res.end(`refused: ${err && err.message ? err.message : err}`);
    }
  });
});
server.listen(Number(env.PORT), '127.0.0.1');
