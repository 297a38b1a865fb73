// The race page: the picked race (URL: ?class=&race=&follow=&view=), the tabs, and the views.
// Start-up reads the page config (js/config.js) before anything is fetched; where it names a
// sign-in (AWS), nothing is fetched until someone is signed in (js/auth.js).

import { $ } from "./dom.js";
import { configureApi, get } from "./api.js";
import { pageConfig } from "./config.js";
import { Auth } from "./auth.js";
import { Live, RACE_SECONDS } from "./live.js";
import { drawRace } from "./chart.js";
import { Results } from "./results.js";
import { AllTime } from "./alltime.js";
import { Rider } from "./rider.js";

const VIEWS = ["live", "chart", "results", "alltime", "rider"];
const CHART_TOP = 5;

const state = { classId: 1, raceId: null, follow: null, view: "live" };
const totals = new Map(); // racerId -> {label, points: [[second, total]]}, since the page opened
let chartSecond = 0;

let live = null; // the Live view, made once the page config is read
const results = new Results();
const alltime = new AllTime();
const rider = new Rider();

function intOrNull(text) {
  return /^\d+$/.test(text ?? "") ? Number(text) : null;
}

function readUrl() {
  const q = new URLSearchParams(location.search);
  state.classId = intOrNull(q.get("class")) ?? 1;
  state.raceId = intOrNull(q.get("race"));
  state.follow = intOrNull(q.get("follow"));
  state.view = VIEWS.includes(q.get("view")) ? q.get("view") : "live";
}

function writeUrl() {
  const q = new URLSearchParams({ class: state.classId, view: state.view });
  if (state.raceId !== null) q.set("race", state.raceId);
  if (state.follow !== null) q.set("follow", state.follow);
  window.history.replaceState(null, "", `?${q}`);
}

function onStandings(standings, message, second) {
  for (const s of standings) {
    let h = totals.get(s.racerId);
    if (!h) totals.set(s.racerId, (h = { label: s.name, points: [] }));
    const last = h.points[h.points.length - 1];
    if (!last || last[0] !== second) h.points.push([second, s.totalOutput]);
  }
  chartSecond = second;
  const me = standings.find((s) => s.racerId === state.follow);
  if (me) alltime.liveOutput(state.classId, me.racerId, me.lastSecond, me.currentOutput, state.view === "alltime");
  if (state.view === "chart") drawChart();
}

function drawChart() {
  const ids = live.standings.slice(0, CHART_TOP).map((s) => s.racerId);
  if (state.follow !== null && !ids.includes(state.follow) && totals.has(state.follow)) ids.push(state.follow);
  const series = ids.map((id) => ({ ...totals.get(id), followed: id === state.follow })).filter((s) => s.points);
  drawRace($("chart"), $("chart-legend"), series, Math.max(RACE_SECONDS, chartSecond));
}

function show(view) {
  state.view = view;
  for (const v of VIEWS) {
    const tab = $(`tab-${v}`);
    tab.setAttribute("aria-selected", String(v === view));
    tab.tabIndex = v === view ? 0 : -1;
    $(`view-${v}`).hidden = v !== view;
  }
  writeUrl();
  if (view === "chart") drawChart();
  if (view === "results") results.open(state.classId, state.raceId);
  if (view === "alltime") alltime.open(state.classId, state.follow);
  if (view === "rider") rider.open(state.follow);
}

function follow(racerId) {
  state.follow = racerId;
  $("follow-id").value = racerId ?? "";
  live.setFollow(racerId);
  writeUrl();
  if (state.view !== "live") show(state.view);
}

// No race in the URL: the class's newest running race, else its newest race.
async function latestRace(classId) {
  for (const status of ["live", null]) {
    const body = await get(`/classes/${classId}/races`, { status, limit: 1 }).catch(() => ({ races: [] }));
    if (body.races.length) return body.races[0].raceId;
  }
  return null;
}

// The "Sign in" / "Sign out" control, and what the page says while nobody is signed in.
function showAuth(auth, problem) {
  const button = $("auth");
  button.hidden = false;
  button.textContent = auth.signedIn ? "Sign out" : "Sign in";
  button.onclick = () => (auth.signedIn ? auth.signOut() : auth.signIn());
  if (!auth.signedIn) {
    $("connection").dataset.state = "idle";
    $("connection-text").textContent = problem ?? "Sign in to see the races";
  }
}

async function start() {
  const config = await pageConfig();
  const auth = config.auth ? new Auth(config.auth) : null;
  const problem = auth ? await auth.resume() : null; // before readUrl: it restores the page's query
  readUrl();
  configureApi({
    base: config.apiBase,
    token: auth && (() => auth.accessToken()),
    onUnauthorized: () => {
      auth.forget();
      showAuth(auth, "Signed out: sign in again");
    },
  });
  if (auth) showAuth(auth, problem);
  if (auth && !auth.signedIn) return;
  live = new Live({ onStandings, onFollow: (racerId) => follow(racerId), channel: config.live });
  wire();
  const classes = await get("/classes").catch(() => ({ classes: [1, 2, 3, 4, 5, 6].map((classId) => ({ classId })) }));
  $("class-id").replaceChildren(...classes.classes.map((c) => new Option(`Class ${c.classId}`, String(c.classId))));
  $("class-id").value = String(state.classId);
  state.raceId ??= await latestRace(state.classId);
  $("race-id").value = state.raceId ?? "";
  $("follow-id").value = state.follow ?? "";
  if (state.raceId !== null) live.open({ classId: state.classId, raceId: state.raceId }, state.follow);
  show(state.view);
}

// The form and the tabs, once the Live view exists.
function wire() {
  $("pick").addEventListener("submit", async (event) => {
    event.preventDefault();
    const classId = Number($("class-id").value);
    const raceId = intOrNull($("race-id").value.trim());
    if (classId !== state.classId || raceId !== state.raceId) totals.clear();
    state.classId = classId;
    state.raceId = raceId ?? (await latestRace(classId));
    $("race-id").value = state.raceId ?? "";
    if (state.raceId !== null) live.open({ classId, raceId: state.raceId }, state.follow);
    follow(intOrNull($("follow-id").value.trim()));
    show(state.view);
  });

  // The tabs, as the WAI-ARIA pattern has them: arrows move between tabs, Home/End to the ends.
  $("tabs").addEventListener("click", (event) => {
    const tab = event.target.closest("[role=tab]");
    if (tab) show(tab.id.slice(4));
  });
  $("tabs").addEventListener("keydown", (event) => {
    const at = VIEWS.indexOf(state.view);
    const to = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: VIEWS.length - 1 }[event.key];
    if (to === undefined) return;
    event.preventDefault();
    const view = VIEWS[(to + VIEWS.length) % VIEWS.length];
    show(view);
    $(`tab-${view}`).focus();
  });
}

start();
