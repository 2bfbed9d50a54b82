// The upstream OpenID Provider of oxPassport's tests: node-oidc-provider (npm
// `oidc-provider`), installed outside the project like ../shared/bench/peer-oidc (the
// test copies this file next to that node_modules). Its own users (ACCOUNTS: a JSON
// object login -> claims), one confidential client (CLIENT_ID, CLIENT_SECRET,
// REDIRECT_URIS: JSON list), the library's development sign-in page, consent granted
// without a page. Claims per scope as the library's defaults: `email` and `profile`
// reach the client through userinfo (conformIdTokenClaims), not the ID token.
// HOST (default 127.0.0.1) is the address it listens on; with TLS_CERT_FILE and
// TLS_KEY_FILE it serves https there (the cluster test: an issuer the lab's oxAuth
// reaches, trusted through oxauth_fetch_ca).
import { readFileSync } from 'node:fs';
import https from 'node:https';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const host = process.env.HOST || '127.0.0.1';
const tls = process.env.TLS_CERT_FILE && process.env.TLS_KEY_FILE;
const accounts = JSON.parse(process.env.ACCOUNTS || '{}');
const clientId = process.env.CLIENT_ID;

const provider = new Provider(`${tls ? 'https' : 'http'}://${host}:${port}`, {
  clients: [{
    client_id: clientId,
    client_secret: process.env.CLIENT_SECRET,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: JSON.parse(process.env.REDIRECT_URIS),
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
  },
  scopes: ['openid', 'email', 'profile'],
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
  async findAccount(ctx, id) {
    if (!Object.prototype.hasOwnProperty.call(accounts, id)) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...accounts[id] }; } };
  },
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
});
provider.proxy = false;
const listening = () => console.log(`passport test OP listening on ${host}:${port}`);
if (tls) {
  https.createServer({
    cert: readFileSync(process.env.TLS_CERT_FILE), key: readFileSync(process.env.TLS_KEY_FILE),
  }, provider.callback()).listen(port, host, listening);
} else {
  provider.listen(port, host, listening);
}
