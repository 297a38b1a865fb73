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
    this.live = {}; // second -> output of the followed rider in the live race
    $("alltime-next").addEventListener("click", () => this.show(this.pager.next()));
    $("alltime-prev").addEventListener("click", () => this.show(this.pager.previous()));
  }

  async open(classId, follow) {
    if (classId !== this.classId) {
      this.classId = classId;
      this.bests = null;
      this.live = {};
    }
    this.follow = follow;
    this.pager = new Pager(`/classes/${classId}/leaderboard`, "entries", PAGE_ROWS);
    await Promise.all([this.show(this.pager.load()), this.ghost()]);
  }

  liveOutput(second, output) {
    this.live[second] = output;
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
    const mine = { ...(this.bests[String(this.follow)] || {}), ...this.live };
    const ghost = {};
    for (const [racer, seconds] of Object.entries(this.bests)) {
      if (racer === String(this.follow)) continue;
      for (const [s, v] of Object.entries(seconds)) if (!(ghost[s] >= v)) ghost[s] = v;
    }
    const { beaten, compared } = drawGhost($("ghost"), mine, ghost, `Rider ${this.follow}`);
    summary.textContent = compared
      ? `Rider ${this.follow} beats the ghost in ${beaten} of ${compared} seconds${beaten ? " 🏆" : ""}.`
      : `Rider ${this.follow} has no per-second bests in class ${this.classId} yet.`;
  }
}
