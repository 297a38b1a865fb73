// The page's configuration, /config.json, fetched once (docs/api.md, "The race page"):
//   apiBase  prefix of every API path ("" locally; the API stage's path behind CloudFront on AWS)
//   live     the live channel: {channel: "sse"} (the local API) or {channel: "iot", region,
//            endpoint, identityPoolId} (IoT Core over WebSocket with guest credentials, on AWS)
//   auth     null (no sign-in, locally) or {domain, clientId, redirectUri, scopes} (Cognito's
//            managed login, js/auth.js)
// The local API answers it itself; on AWS `make deploy` writes it from the stack's outputs.

let loaded = null;

export function pageConfig() {
  loaded ??= fetch("/config.json", { headers: { Accept: "application/json" } }).then(async (answer) => {
    if (!answer.ok) throw new Error(`${answer.status} from /config.json`);
    return answer.json();
  });
  return loaded;
}
