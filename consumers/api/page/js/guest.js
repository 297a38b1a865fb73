// Guest credentials from a Cognito identity pool (the enhanced flow: GetId, then
// GetCredentialsForIdentity, both unsigned JSON 1.1 POSTs, no SDK). The identity id is kept in
// localStorage, so a returning browser is the same guest (and connects to IoT with the same MQTT
// client id); the credentials are kept in memory and fetched again once they are within
// REFRESH_MS of expiring (each connection asks: live.js reconnects through openChannel). They only
// sign the URL a connection opens at once, so a minute left is enough.

const REFRESH_MS = 60 * 1000;
const cached = new Map(); // identity pool id -> {identityId, credentials, expiresAt}

export class CognitoError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function call(url, action, body) {
  const answer = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": `AWSCognitoIdentityService.${action}` },
    body: JSON.stringify(body),
  });
  const reply = await answer.json().catch(() => ({}));
  if (!answer.ok) {
    const code = String(reply.__type ?? "http_error").split("#").pop(); // the type may carry a namespace
    throw new CognitoError(answer.status, code, `${action}: ${reply.message ?? reply.Message ?? answer.status}`);
  }
  return reply;
}

// Expiration is epoch seconds in the JSON 1.1 protocol; an ISO string is taken too.
const expiry = (value) => (typeof value === "number" ? value * 1000 : Date.parse(value));

async function credentialsFor(url, identityId) {
  const { Credentials: c } = await call(url, "GetCredentialsForIdentity", { IdentityId: identityId });
  const credentials = { accessKeyId: c.AccessKeyId, secretKey: c.SecretKey, sessionToken: c.SessionToken };
  return { identityId, credentials, expiresAt: expiry(c.Expiration) };
}

// {identityId, credentials: {accessKeyId, secretKey, sessionToken}, expiresAt (epoch ms)}.
export async function guestCredentials({ url, identityPoolId, storage = window.localStorage }) {
  const held = cached.get(identityPoolId);
  if (held && held.expiresAt - Date.now() > REFRESH_MS) return held;
  const key = `alleycat.identity.${identityPoolId}`;
  let fresh = null;
  const known = storage.getItem(key);
  if (known) {
    try {
      fresh = await credentialsFor(url, known);
    } catch (error) {
      // an identity the pool no longer knows (a pool made anew): become a new guest
      if (!(error instanceof CognitoError && error.code === "ResourceNotFoundException")) throw error;
      storage.removeItem(key);
    }
  }
  if (!fresh) {
    const { IdentityId } = await call(url, "GetId", { IdentityPoolId: identityPoolId });
    storage.setItem(key, IdentityId);
    fresh = await credentialsFor(url, IdentityId);
  }
  cached.set(identityPoolId, fresh);
  return fresh;
}
