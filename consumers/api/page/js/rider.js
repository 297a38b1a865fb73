// The Rider view: a rider's bests per class and their races, most recent first (paged: "More races").

import { $, fill, fmt, row } from "./dom.js";
import { Pager, get } from "./api.js";

export class Rider {
  constructor() {
    $("rider-next").addEventListener("click", () => this.more(this.pager.next()));
  }

  async open(racerId) {
    fill($("rider-bests").tBodies[0], []);
    fill($("rider-races").tBodies[0], []);
    $("rider-next").disabled = true;
    if (racerId === null) {
      $("rider-summary").textContent = "Follow a rider to see their races and bests.";
      return;
    }
    try {
      const body = await get(`/racers/${racerId}/bests`);
      fill($("rider-bests").tBodies[0], body.bests.map((b) => row([b.classId, b.name, fmt(b.totalOutput), b.raceId])));
      $("rider-summary").textContent = `Rider ${racerId}: bests in ${body.bests.length} classes.`;
    } catch (error) {
      $("rider-summary").textContent = error.message;
    }
    this.pager = new Pager(`/racers/${racerId}/races`, "races", 20);
    await this.more(this.pager.load());
  }

  async more(loading) {
    try {
      const races = await loading;
      $("rider-races").tBodies[0].append(...races.map((r) =>
        row([r.raceId, r.classId, r.rank ?? "–", fmt(r.totalOutput), fmt(r.avgOutput), r.seconds])));
    } catch (error) {
      $("rider-summary").textContent = error.message;
    }
    $("rider-next").disabled = !this.pager.hasNext;
  }
}
