// AWS Signature Version 4 in the browser, with WebCrypto: the presigned WebSocket URL of AWS IoT
// Core's MQTT endpoint (wss://<endpoint>/mqtt). A browser's WebSocket cannot set headers, so the
// signature goes in the query string (SigV4 "query" signing, signed headers: host only, the empty
// payload hashed). IoT's quirk for temporary credentials: X-Amz-Security-Token is NOT part of the
// canonical request; it is appended to the URL after X-Amz-Signature (AWS IoT Developer Guide,
// "MQTT over the WebSocket protocol"). tests/unit/test_page_iot.py checks the URL against
// botocore's SigV4QueryAuth for the same request.

const SERVICE = "iotdevicegateway";
const ALGORITHM = "AWS4-HMAC-SHA256";
const EXPIRES_S = 86400; // how long the URL may open a connection (the guide's value); the credentials expire sooner
const utf8 = new TextEncoder();

// RFC 3986 percent-encoding, as SigV4 wants it (encodeURIComponent leaves !'()* alone).
export function uriEncode(text) {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

// 20261204T201500Z
export function amzDate(date) {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z").replace(/[-:]/g, "");
}

const hex = (buffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
const sha256Hex = async (text) => hex(await crypto.subtle.digest("SHA-256", utf8.encode(text)));

async function hmac(key, text) {
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return crypto.subtle.sign("HMAC", k, utf8.encode(text));
}

// `url`: wss://<endpoint>/mqtt (or a test broker's ws:// URL); `credentials`: {accessKeyId,
// secretKey, sessionToken}. Returns the URL with the signature (and the token) in its query.
export async function presignIotUrl({ url, region, credentials, now = new Date() }) {
  const { protocol, host, pathname } = new URL(url);
  const stamp = amzDate(now);
  const day = stamp.slice(0, 8);
  const scope = `${day}/${region}/${SERVICE}/aws4_request`;
  // already in code-point order, as the canonical query must be
  const query = [
    ["X-Amz-Algorithm", ALGORITHM],
    ["X-Amz-Credential", `${credentials.accessKeyId}/${scope}`],
    ["X-Amz-Date", stamp],
    ["X-Amz-Expires", String(EXPIRES_S)],
    ["X-Amz-SignedHeaders", "host"],
  ].map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`).join("&");
  const canonical = ["GET", pathname, query, `host:${host}`, "", "host", await sha256Hex("")].join("\n");
  const toSign = [ALGORITHM, stamp, scope, await sha256Hex(canonical)].join("\n");
  let key = utf8.encode(`AWS4${credentials.secretKey}`);
  for (const part of [day, region, SERVICE, "aws4_request"]) key = await hmac(key, part);
  const signature = hex(await hmac(key, toSign));
  const token = credentials.sessionToken ? `&X-Amz-Security-Token=${uriEncode(credentials.sessionToken)}` : "";
  return `${protocol}//${host}${pathname}?${query}&X-Amz-Signature=${signature}${token}`;
}
