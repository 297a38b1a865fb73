// The Live view: a race's standings as a snapshot, then changes (alleycat.domain.standings_changes),
// over the race's live channel (js/channel.js: the API's SSE stream locally, IoT Core on AWS). Every
// figure on a row comes from the pipeline (alleycat.domain.scoring: rolling and peak outputs, the
// gap, the previous rank); the page only applies the changes and shows them. A message that does
// not continue the version held (a dropped one, a `resync`) makes it fetch a new snapshot. Reconnects
// on its own with a backoff; measures its own update time (window.alleycatPerf).

import { $, clock, el, fill, fmt, row } from "./dom.js";
import { get } from "./api.js";
import { openChannel } from "./channel.js";

export const RACE_SECONDS = 300;
const SHOWN = 25; // rows drawn until "Show all" (bench.page: the cost of an update grows with them)
const BACKOFF_MS = [500, 1000, 2000, 4000, 5000];
const WAITING = "Waiting for the race's first standings …";

// What the browser test and bench.page read: per update, main-thread ms (of which JSON.parse) and
// bytes; and how many snapshots were fetched to fill a gap.
export const perf = (window.alleycatPerf = { updates: [], longTasks: 0, resyncs: 0 });
if ("PerformanceObserver" in window && PerformanceObserver.supportedEntryTypes?.includes("longtask")) {
  new PerformanceObserver((list) => { perf.longTasks += list.getEntries().length; }).observe({ type: "longtask" });
}

export class Live {
  constructor({ onStandings, onFollow, channel = { channel: "sse" } }) {
    this.onStandings = onStandings; // (standings, message, second) after each update
    this.onFollow = onFollow; // (racerId) when a name is picked
    this.live = channel; // the page config's live channel (js/channel.js)
    this.channel = null;
    this.race = null;
    this.follow = null;
    this.showAll = false;
    this.rows = new Map(); // racerId -> the row drawn for them, kept across updates
    this.standings = [];
    this.version = 0; // the LIVE version the standings are at
    this.pending = null; // while a snapshot is fetched: the messages that arrived meanwhile
    this.lastUpdate = 0;
    this.attempt = 0;
    $("show-all").addEventListener("click", () => { this.showAll = !this.showAll; this.render(); });
    setInterval(() => this.tick(), 1000);
  }

  open(race, follow) {
    this.close();
    this.race = race;
    this.follow = follow;
    this.standings = [];
    this.version = 0;
    this.pending = null;
    this.rows.clear();
    fill($("standings").tBodies[0], []);
    $("race-title").textContent = `Race ${race.raceId}, class ${race.classId}`;
    this.connect();
  }

  setFollow(follow) {
    this.follow = follow;
    this.render();
  }

  close() {
    clearTimeout(this.retry);
    if (this.channel) this.channel.close();
    this.channel = null;
  }

  async connect() {
    const race = this.race;
    this.state("connecting", this.attempt ? `reconnecting (attempt ${this.attempt + 1})` : "connecting");
    const opening = openChannel(this.live, race, {
      onOpen: () => {
        this.attempt = 0;
        this.state("live", "live");
        // The SSE stream sends its snapshot next; another channel only carries changes.
        if (this.live.channel !== "sse") this.resync();
      },
      onMessage: (text, type) => { if (this.race === race) this.receive(text, type); },
      onDown: () => { if (this.race === race) this.reconnect(); },
    });
    try {
      const channel = await opening;
      if (this.race === race && !this.channel) this.channel = channel;
      else channel.close(); // the race changed while it opened
    } catch (error) {
      if (this.race === race) this.reconnect();
    }
  }

  reconnect() {
    this.close();
    const wait = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt += 1;
    this.state("down", `disconnected, retrying in ${wait / 1000} s`);
    this.retry = setTimeout(() => this.connect(), wait);
  }

  // One message of the channel: a snapshot is taken whole; a change applies only on top of the
  // version it was computed from (one already held is skipped); anything else means a gap.
  receive(text, type) {
    const start = performance.now();
    const message = JSON.parse(text);
    const parsed = performance.now();
    const kind = type ?? message.type;
    if (kind === "snapshot") this.take(message);
    else if (this.pending) return void this.pending.push([text, kind]);
    else if (message.version <= this.version) return; // the snapshot already held it
    else if (kind !== "changes" || message.baseVersion !== this.version || !this.apply(message)) {
      return void this.resync();
    }
    const scripted = performance.now();
    void $("standings").offsetHeight; // lay out inside the measurement: the whole cost of an update
    const end = performance.now();
    perf.updates.push({
      kind, ms: end - start, parseMs: parsed - start, layoutMs: end - scripted, bytes: new Blob([text]).size,
      rows: this.standings.length,
    });
  }

  take(snapshot) {
    this.version = snapshot.version;
    this.update(snapshot.standings, snapshot);
    if (!snapshot.standings.length) $("standings-count").textContent = WAITING;
  }

  // The same steps as alleycat.domain.standings_changes.apply_changes (its tests hold the rule):
  // every held rider's previous rank is the rank they had; the changed fields are written; added
  // rows put in, removed taken out; ordered by rank. False: the message names a rider not held.
  apply(message) {
    const byRacer = new Map();
    for (const s of this.standings) {
      s.previousRank = s.rank;
      byRacer.set(s.racerId, s);
    }
    for (const racerId of message.removed) byRacer.delete(racerId);
    const fields = message.fields;
    for (const values of message.rows) {
      const s = byRacer.get(values[0]);
      if (!s) return false;
      for (let i = 0; i < fields.length; i += 1) s[fields[i]] = values[i + 1];
    }
    for (const s of message.added) byRacer.set(s.racerId, s);
    this.version = message.version;
    this.update([...byRacer.values()].sort((a, b) => a.rank - b.rank), message);
    return true;
  }

  // A new snapshot (GET .../live), the messages that arrive meanwhile held and replayed on top.
  async resync() {
    if (this.pending) return;
    this.pending = [];
    perf.resyncs += 1;
    const race = this.race;
    const { classId, raceId } = race;
    let snapshot = null;
    try {
      snapshot = await get(`/classes/${classId}/races/${raceId}/live`);
    } catch (error) {
      if (error.status === 404) snapshot = { version: 0, standings: [] }; // no standings yet
      else perf.snapshotError = error.message; // and the next message finds the gap again
    }
    if (this.race !== race) return;
    const held = this.pending;
    this.pending = null;
    if (snapshot) this.take(snapshot);
    for (const [text, kind] of held) this.receive(text, kind);
  }

  update(standings, message) {
    this.standings = standings;
    this.lastUpdate = Date.now();
    const second = standings.reduce((most, s) => Math.max(most, s.lastSecond ?? s.seconds ?? 0), 0);
    $("race-clock").textContent = `${clock(second)} / ${clock(RACE_SECONDS)}`;
    $("race-progress").value = Math.min(second, RACE_SECONDS);
    this.render();
    this.tick();
    this.onStandings(standings, message, second);
  }

  render() {
    const standings = this.standings;
    const shown = this.showAll ? standings : standings.slice(0, SHOWN);
    place($("standings").tBodies[0], shown.map((s) => this.rowOf(s)));
    const button = $("show-all");
    button.hidden = standings.length <= SHOWN;
    button.textContent = this.showAll ? `Show the top ${SHOWN}` : `Show all ${standings.length}`;
    $("standings-count").textContent = standings.length ? `${standings.length} riders` : "";
    this.renderFollowed();
  }

  renderFollowed() {
    const at = this.follow === null ? -1 : this.standings.findIndex((s) => s.racerId === this.follow);
    $("followed").hidden = $("followed-title").hidden = at < 0;
    if (at < 0) return;
    const near = this.standings.slice(Math.max(0, at - 1), at + 2);
    fill($("followed").tBodies[0], near.map((s) => cells(s, this.follow, this.onFollow)));
    const me = this.standings[at];
    $("followed-title").textContent =
      `Following ${me.name}: rank ${me.rank}, peak 5 s ${fmt(me.peak5Output)}, peak 60 s ${fmt(me.peak60Output)}`;
  }

  // A row per rider, kept across updates; only the text nodes whose text changed are written.
  rowOf(s) {
    let kept = this.rows.get(s.racerId);
    const now = texts(s);
    if (!kept) {
      const tr = cells(s, this.follow, this.onFollow);
      const nodes = [...tr.children].map((td, i) => (i === 2 ? td.firstChild : td).firstChild);
      kept = { tr, nodes, texts: now, move: tr.children[1] };
      this.rows.set(s.racerId, kept);
      return tr;
    }
    for (let i = 0; i < now.length; i += 1) {
      if (now[i] !== kept.texts[i]) kept.nodes[i].data = now[i];
    }
    if (now[1] !== kept.texts[1]) kept.move.className = moveClass(s);
    kept.texts = now;
    const className = s.racerId === this.follow ? "followed" : "";
    if (kept.tr.className !== className) kept.tr.className = className;
    return kept.tr;
  }

  state(name, text) {
    $("connection").dataset.state = name;
    $("connection-text").textContent = text;
  }

  tick() {
    if (!this.lastUpdate) return;
    const ago = Math.round((Date.now() - this.lastUpdate) / 1000);
    $("last-updated").textContent = `updated ${ago} s ago`;
  }
}

// Put rows in order, moving only those out of place (a rank change moves a few, not the table).
function place(tbody, rows) {
  let at = tbody.firstChild;
  for (const tr of rows) {
    if (tr === at) at = at.nextSibling;
    else tbody.insertBefore(tr, at);
  }
  while (at) {
    const next = at.nextSibling;
    at.remove();
    at = next;
  }
}

function arrow(s) {
  if (s.previousRank === null || s.previousRank === undefined) return "";
  if (s.previousRank > s.rank) return `▲${s.previousRank - s.rank}`;
  if (s.previousRank < s.rank) return `▼${s.rank - s.previousRank}`;
  return "";
}

function moveClass(s) {
  return s.previousRank > s.rank ? "up" : s.previousRank < s.rank ? "down" : "";
}

function texts(s) {
  return [String(s.rank), arrow(s), s.name, fmt(s.totalOutput), fmt(s.currentOutput), fmt(s.rolling5Output),
    fmt(s.rolling60Output), s.rank === 1 ? "" : `−${fmt(s.gapOutput)}`];
}

function cells(s, follow, onFollow) {
  const t = texts(s);
  const name = el("button", t[2], "name");
  name.type = "button";
  name.title = `Follow ${s.name}`;
  name.addEventListener("click", () => onFollow(s.racerId));
  const nameCell = el("td");
  nameCell.append(name);
  const tr = row([t[0], el("td", t[1], moveClass(s)), nameCell, t[3], t[4], t[5], t[6], t[7]]);
  tr.dataset.racer = String(s.racerId);
  if (s.racerId === follow) tr.className = "followed";
  return tr;
}
