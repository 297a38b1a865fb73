// The live channel on AWS: MQTT over WebSocket to AWS IoT Core as a Cognito guest (js/guest.js),
// the URL presigned with SigV4 (js/sigv4.js), the client mqtt.js (vendored by `make setup` from
// infra/page/package.json into ../vendor/: nothing is fetched from a CDN).
//
// openIot(live, race, handlers) -> {close()}; js/channel.js calls it for live.channel === "iot".
//   live: {channel: "iot", region, endpoint (the account's IoT data endpoint host,
//         xxxx-ats.iot.<region>.amazonaws.com), identityPoolId,
//         endpointUrls (optional, for tests, as boto3's AWS_ENDPOINT_URL_*):
//           {iot: "ws://127.0.0.1:<port>/mqtt", cognitoIdentity: "http://127.0.0.1:<port>/"}}
//   race: {raceId, classId}: the topic is liveTopic(raceId, classId).
//   handlers.onOpen() once the subscription is acknowledged (SUBACK); handlers.onMessage(text,
//   undefined) per message (the publisher's JSON text); handlers.onDown(reason) once, when the
//   connection fails or is lost. There is no reconnect here: live.js reconnects, with its backoff,
//   by opening the channel again (which fetches fresh credentials when these are about to expire).
//   close() ends the connection; no handler is called after it.
//
// The guest role (infra/aws/template/live.py) may connect only with its own identity id as the
// client id, and subscribe to / receive the standings topics.

import mqtt from "../vendor/mqtt.esm.js";
import { guestCredentials } from "./guest.js";
import { presignIotUrl } from "./sigv4.js";
import { liveTopic } from "./topics.js";

const KEEPALIVE_S = 30;
const CONNECT_TIMEOUT_MS = 10_000;
const SUBACK_FAILURE = 0x80;
const utf8 = new TextDecoder();

export function openIot(live, race, handlers) {
  const topic = liveTopic(race.raceId, race.classId);
  let client = null;
  let over = false; // closed, or reported down: nothing more reaches the handlers

  const down = (reason) => {
    if (over) return;
    over = true;
    client?.end(true);
    handlers.onDown(reason);
  };

  (async () => {
    const guest = await guestCredentials({
      url: live.endpointUrls?.cognitoIdentity ?? `https://cognito-identity.${live.region}.amazonaws.com/`,
      identityPoolId: live.identityPoolId,
    });
    const url = await presignIotUrl({
      url: live.endpointUrls?.iot ?? `wss://${live.endpoint}/mqtt`,
      region: live.region,
      credentials: guest.credentials,
    });
    if (over) return;
    client = mqtt.connect(url, {
      clientId: guest.identityId, // the IAM policy's iot:Connect resource
      clean: true,
      keepalive: KEEPALIVE_S,
      protocolVersion: 4, // MQTT 3.1.1, what IoT Core's broker is based on
      reconnectPeriod: 0, // live.js owns reconnecting
      connectTimeout: CONNECT_TIMEOUT_MS,
      // the keepalive on the page's own timers: mqtt.js's default runs them in a worker made from a
      // blob: URL, which the page's CSP (no worker-src) blocks, and then no PINGREQ is ever sent
      timerVariant: "native",
    });
    client.on("connect", () => {
      client.subscribe(topic, { qos: 0 }, (error, granted) => {
        if (over) return;
        if (error || !granted?.length || granted[0].qos === SUBACK_FAILURE) down(`subscribe refused: ${error?.message ?? topic}`);
        else handlers.onOpen();
      });
    });
    client.on("message", (from, payload) => {
      if (!over && from === topic) handlers.onMessage(utf8.decode(payload), undefined);
    });
    client.on("error", (error) => down(error.message || "connection error"));
    client.on("close", () => down("connection closed"));
  })().catch((error) => down(error.message || String(error)));

  return {
    close() {
      over = true;
      client?.end(); // a DISCONNECT first
    },
  };
}
