// Sign-in on AWS (the page config's `auth`): Cognito's managed login with the authorization-code
// flow and PKCE (RFC 7636, S256), for a public client (no secret). The page keeps the tokens in
// sessionStorage (this tab only, gone when it closes), refreshes the access token a minute before
// it expires, and asks for a new sign-in when the refresh token is refused.
//
// The module touches no browser state when imported: its PKCE helpers also run under Node
// (tests/unit/test_page_auth.py checks them against RFC 7636's appendix B).

const TOKENS = "alleycat.auth.tokens"; // {access, refresh, expiresAt (ms)}
const PENDING = "alleycat.auth.pending"; // {state, verifier, search}: a sign-in under way
const EARLY_MS = 60_000; // refresh this long before the access token expires

export function base64url(bytes) {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

// 32 random octets, base64url: a 43-character verifier (RFC 7636 §4.1); also the state parameter.
export function randomVerifier() {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

export async function codeChallenge(verifier) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

function read(key) {
  try {
    return JSON.parse(sessionStorage.getItem(key));
  } catch {
    return null;
  }
}

export class Auth {
  // config: {domain (https://<prefix>.auth.<region>.amazoncognito.com), clientId, redirectUri, scopes}
  constructor(config) {
    this.config = config;
    this.tokens = read(TOKENS);
    this.refreshing = null; // a refresh under way
  }

  get signedIn() {
    return Boolean(this.tokens);
  }

  // Back from the managed login (?code=&state=): check the state, exchange the code, take it out
  // of the address bar (and put back the page's own query). Returns an error sentence or null.
  async resume() {
    const q = new URLSearchParams(location.search);
    if (!q.has("code") && !q.has("error")) return null;
    const pending = read(PENDING);
    sessionStorage.removeItem(PENDING);
    window.history.replaceState(null, "", `${location.pathname}${pending?.search ?? ""}`);
    if (!pending || q.get("state") !== pending.state) return "The sign-in answer did not match this page's request";
    if (q.has("error")) return `Sign-in failed: ${q.get("error_description") || q.get("error")}`;
    const ok = await this.#token({
      grant_type: "authorization_code",
      code: q.get("code"),
      redirect_uri: this.config.redirectUri,
      code_verifier: pending.verifier,
    });
    return ok ? null : "Sign-in failed: the code was refused";
  }

  // A current access token, refreshed when it is about to expire; null when nobody is signed in.
  async accessToken() {
    if (!this.tokens) return null;
    if (Date.now() < this.tokens.expiresAt - EARLY_MS) return this.tokens.access;
    // One refresh for the fetches that find the token old at the same moment.
    this.refreshing ??= this.#token({ grant_type: "refresh_token", refresh_token: this.tokens.refresh }).finally(() => {
      this.refreshing = null;
    });
    return (await this.refreshing) ? this.tokens.access : null;
  }

  async signIn() {
    const state = randomVerifier();
    const verifier = randomVerifier();
    sessionStorage.setItem(PENDING, JSON.stringify({ state, verifier, search: location.search }));
    const q = new URLSearchParams({
      response_type: "code",
      client_id: this.config.clientId,
      redirect_uri: this.config.redirectUri,
      scope: this.config.scopes.join(" "),
      state,
      code_challenge: await codeChallenge(verifier),
      code_challenge_method: "S256",
    });
    location.assign(`${this.config.domain}/oauth2/authorize?${q}`);
  }

  // Revoke the refresh token (and the access tokens it issued), forget them, end the managed
  // login's session.
  async signOut() {
    const refresh = this.tokens?.refresh;
    this.forget();
    if (refresh) {
      await this.#post("/oauth2/revoke", { token: refresh, client_id: this.config.clientId }).catch(() => null);
    }
    const q = new URLSearchParams({ client_id: this.config.clientId, logout_uri: this.config.redirectUri });
    location.assign(`${this.config.domain}/logout?${q}`);
  }

  forget() {
    this.tokens = null;
    sessionStorage.removeItem(TOKENS);
  }

  async #token(form) {
    const answer = await this.#post("/oauth2/token", { client_id: this.config.clientId, ...form }).catch(() => null);
    if (!answer) return false; // offline: keep the tokens, the next fetch tries again
    if (!answer.ok) {
      this.forget(); // refused (an expired or revoked refresh token, a used code): sign in again
      return false;
    }
    const body = await answer.json();
    this.tokens = {
      access: body.access_token,
      refresh: body.refresh_token ?? this.tokens?.refresh, // a refresh grant returns no new one
      expiresAt: Date.now() + body.expires_in * 1000,
    };
    sessionStorage.setItem(TOKENS, JSON.stringify(this.tokens));
    return true;
  }

  #post(path, form) {
    return fetch(`${this.config.domain}${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(form),
    });
  }
}
