// The test OpenID Connect provider (npm oidc-provider, never in production).
// Usage: node server.mjs PORT; clients come from the OIDC_CLIENTS environment variable
// (JSON list of {client_id, client_secret}), people from accounts.json. Prints "ready".
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
const issuer = `http://127.0.0.1:${port}`;
const accounts = JSON.parse(readFileSync(new URL('./accounts.json', import.meta.url)));
const clients = JSON.parse(process.env.OIDC_CLIENTS || '[]').map((c) => ({
  ...c,
  grant_types: ['authorization_code'],
  response_types: ['code'],
  redirect_uris: ['http://127.0.0.1/registered-at-runtime'],
  token_endpoint_auth_method: 'client_secret_basic',
}));

const provider = new Provider(issuer, {
  clients,
  cookies: { keys: ['test-only-oidc-provider'] },
  pkce: { methods: ['S256'], required: () => true },
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'],
            groups: ['groups'] },
  features: { devInteractions: { enabled: true } },  // a plain login form: any password
  async findAccount(ctx, id) {
    if (!accounts[id]) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...accounts[id] }; } };
  },
  // First-party clients: no consent screen (the recipe from the library's documentation).
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid email profile groups');
    await grant.save();
    return grant;
  },
});
// The app under test listens on ports chosen at run time: accept any local callback.
provider.Client.prototype.redirectUriAllowed = function allowed(uri) {
  return /^http:\/\/(localhost|127\.0\.0\.1)(:\d+)?\/sso\//.test(uri);
};
provider.listen(port, '127.0.0.1', () => console.log('ready'));
