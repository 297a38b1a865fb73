// The live channel of a race, whichever carries it (the page config's `live`: docs/api.md, "The race
// page"): the local API's Server-Sent-Events stream ("sse"), or IoT Core over WebSocket on AWS
// ("iot", js/iot.js, loaded only there). Either way the Live view gets the same calls:
//   onOpen()               subscribed: messages from now on reach onMessage
//   onMessage(text, type)  a message's JSON text; type is the SSE event name ("snapshot", "changes",
//                          "resync"), or undefined when the transport has none (the JSON's own `type`)
//   onDown(reason)         the channel is gone; the Live view reconnects by opening a new one
// and a `close()` that ends the channel without calling onDown.

const SSE_EVENTS = ["snapshot", "changes", "resync"];

export async function openChannel(live, race, handlers) {
  if (live.channel === "iot") return (await import("./iot.js")).openIot(live, race, handlers);
  return openSse(race, handlers);
}

function openSse({ classId, raceId }, { onOpen, onMessage, onDown }) {
  const source = new EventSource(`/classes/${classId}/races/${raceId}/live/stream`);
  let open = true;
  source.addEventListener("subscribed", () => onOpen());
  for (const type of SSE_EVENTS) source.addEventListener(type, (event) => onMessage(event.data, type));
  // The browser's own retry gives up on an HTTP error (a 503 when the streams are full, a 404 on
  // Lambda); the Live view's backoff covers restarts and refusals alike.
  source.onerror = () => {
    if (!open) return;
    open = false;
    source.close();
    onDown("the stream dropped");
  };
  return {
    close() {
      open = false;
      source.close();
    },
  };
}
