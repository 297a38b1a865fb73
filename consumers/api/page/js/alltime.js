// The All-time view: the class board (paged) and the ghost: the followed rider's per-second bests
// (the lake's export, /classes/{c}/per-second-bests) against the best of every other rider of the
// class at that second, with the seconds they beat it marked; while a race runs, the rider's live
// output at each update joins their line.

import { $, fill, fmt, row } from "./dom.js";
import { Pager, get } from "./api.js";
import { drawGhost } from "./chart.js";

const PAGE_ROWS = 25;

export class AllTime {
  constructor() {
    this.bests = null; // the export of this.classId
    this.ghostOf = null; // {follow, ghost}: second -> best output of everyone else
    this.live = new Map(); // "classId/racerId" -> {second: output} in the live race
    $("alltime-next").addEventListener("click", () => this.show(this.pager.next()));
    $("alltime-prev").addEventListener("click", () => this.show(this.pager.previous()));
  }

  async open(classId, follow) {
    if (classId !== this.classId) {
      this.classId = classId;
      this.bests = null;
      this.ghostOf = null;
    }
    this.follow = follow;
    this.pager = new Pager(`/classes/${classId}/leaderboard`, "entries", PAGE_ROWS);
    await Promise.all([this.show(this.pager.load()), this.ghost()]);
  }

  // The followed rider's output at a second of the live race; redraws the ghost if it is shown.
  liveOutput(classId, racerId, second, output, shown) {
    const key = `${classId}/${racerId}`;
    if (!this.live.has(key)) this.live.set(key, {});
    this.live.get(key)[second] = output;
    if (shown && classId === this.classId && racerId === this.follow && this.bests) this.draw();
  }

  async show(loading) {
    try {
      const entries = await loading;
      fill($("alltime").tBodies[0], entries.map((e) => row([e.rank, e.name, fmt(e.totalOutput), e.raceId])));
      $("alltime-page").textContent = `page ${this.pager.index + 1}`;
    } catch (error) {
      fill($("alltime").tBodies[0], []);
      $("alltime-page").textContent = error.message;
    }
    $("alltime-next").disabled = !this.pager.hasNext;
    $("alltime-prev").disabled = !this.pager.hasPrevious;
  }

  async ghost() {
    const summary = $("ghost-summary");
    if (this.follow === null) {
      summary.textContent = "Follow a rider to race their ghost.";
      $("ghost").replaceChildren();
      return;
    }
    try {
      this.bests ??= await get(`/classes/${this.classId}/per-second-bests`);
    } catch (error) {
      summary.textContent = error.message;
      return;
    }
    this.draw();
  }

  draw() {
    if (this.ghostOf?.follow !== this.follow) {
      const ghost = {};
      for (const [racer, seconds] of Object.entries(this.bests)) {
        if (racer === String(this.follow)) continue;
        for (const [s, v] of Object.entries(seconds)) if (!(ghost[s] >= v)) ghost[s] = v;
      }
      this.ghostOf = { follow: this.follow, ghost };
    }
    const live = this.live.get(`${this.classId}/${this.follow}`) || {};
    const mine = { ...(this.bests[String(this.follow)] || {}), ...live };
    const { beaten, compared } = drawGhost($("ghost"), mine, this.ghostOf.ghost, `Rider ${this.follow}`);
    $("ghost-summary").textContent = compared
      ? `Rider ${this.follow} beats the ghost in ${beaten} of ${compared} seconds${beaten ? " ★" : ""}.`
      : `Rider ${this.follow} has no per-second bests in class ${this.classId} yet.`;
  }
}
