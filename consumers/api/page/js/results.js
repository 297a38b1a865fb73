// The Results view: the class's completed races in a picker, the picked race's final board, paged
// with the API's cursors.

import { $, fill, fmt, row } from "./dom.js";
import { Pager, get } from "./api.js";

const PAGE_ROWS = 25;

export class Results {
  constructor() {
    this.pager = null;
    $("results-race").addEventListener("change", () => this.pick(Number($("results-race").value)));
    $("results-next").addEventListener("click", () => this.show(this.pager.next()));
    $("results-prev").addEventListener("click", () => this.show(this.pager.previous()));
  }

  async open(classId, raceId) {
    this.classId = classId;
    const body = await get(`/classes/${classId}/races`, { status: "completed", limit: 50 });
    const select = $("results-race");
    const ids = body.races.map((r) => r.raceId);
    select.replaceChildren(...ids.map((id) => new Option(`Race ${id}`, String(id))));
    if (!ids.length) {
      $("results-page").textContent = `No completed races in class ${classId} yet.`;
      fill($("results").tBodies[0], []);
      return;
    }
    // the picked race if it is complete, else the class's newest complete race
    const picked = ids.includes(raceId) ? raceId : ids[0];
    select.value = String(picked);
    await this.pick(picked);
  }

  pick(raceId) {
    this.pager = new Pager(`/classes/${this.classId}/races/${raceId}/leaderboard`, "entries", PAGE_ROWS);
    return this.show(this.pager.load());
  }

  async show(loading) {
    try {
      const entries = await loading;
      fill($("results").tBodies[0], entries.map((e) =>
        row([e.rank, e.name, fmt(e.totalOutput), fmt(e.avgOutput), fmt(e.maxOutput), e.seconds])));
      $("results-page").textContent = `page ${this.pager.index + 1}`;
    } catch (error) {
      fill($("results").tBodies[0], []);
      $("results-page").textContent = error.message;
    }
    $("results-next").disabled = !this.pager.hasNext;
    $("results-prev").disabled = !this.pager.hasPrevious;
  }
}
