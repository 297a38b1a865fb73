// Line charts drawn as inline SVG: the race chart (cumulative output over race time) and the ghost
// (output per second against the class's best). Names go into <text> and <title> as textContent.

import { el, svg } from "./dom.js";

const W = 720;
const H = 300;
const PAD = { left: 56, right: 28, top: 10, bottom: 24 };

function scales(xMax, yMax) {
  const x = (v) => PAD.left + (v / Math.max(1, xMax)) * (W - PAD.left - PAD.right);
  const y = (v) => H - PAD.bottom - (v / Math.max(1e-9, yMax)) * (H - PAD.top - PAD.bottom);
  return { x, y };
}

function axes(root, xMax, yMax, xLabel) {
  const { x, y } = scales(xMax, yMax);
  root.append(svg("line", { class: "axis", x1: PAD.left, y1: y(0), x2: W - PAD.right, y2: y(0) }));
  root.append(svg("line", { class: "axis", x1: PAD.left, y1: y(0), x2: PAD.left, y2: PAD.top }));
  for (let i = 0; i <= 4; i += 1) {
    const v = (yMax * i) / 4;
    root.append(svg("text", { x: PAD.left - 4, y: y(v) + 4, "text-anchor": "end" }, Math.round(v).toLocaleString("en")));
    const s = (xMax * i) / 4;
    root.append(svg("text", { x: x(s), y: H - 6, "text-anchor": "middle" }, `${Math.round(s)} s`));
  }
  root.append(svg("text", { x: W - PAD.right, y: PAD.top + 10, "text-anchor": "end" }, xLabel));
  return { x, y };
}

// A line through the points; where two neighbours are more than `gap` apart on x the line breaks (a
// second with no output stays open rather than being drawn as if ridden).
function pathOf(points, x, y, gap = Infinity) {
  const joined = (i) => i > 0 && points[i][0] - points[i - 1][0] <= gap;
  return points.map(([px, py], i) => `${joined(i) ? "L" : "M"}${x(px).toFixed(1)},${y(py).toFixed(1)}`).join("");
}

// series: [{label, points: [[second, value]], followed}]
export function drawRace(container, legend, series, xMax) {
  const yMax = Math.max(1, ...series.flatMap((s) => s.points.map((p) => p[1])));
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "Cumulative output over race time" });
  const { x, y } = axes(root, xMax, yMax, "cumulative output");
  const items = [];
  series.forEach((s, i) => {
    const cls = s.followed ? "sf" : `s${i % 5}`;
    const line = svg("path", { class: `line ${cls}`, d: pathOf(s.points, x, y) });
    line.append(svg("title", {}, s.label));
    root.append(line);
    const item = el("li");
    item.append(el("span", null, `swatch ${cls}`), document.createTextNode(s.label));
    items.push(item);
  });
  container.replaceChildren(root);
  legend.replaceChildren(...items);
}

// rider, ghost: {second: output}; marks the seconds where rider > ghost. Returns {beaten, compared}.
export function drawGhost(container, rider, ghost, label) {
  const seconds = [...new Set([...Object.keys(rider), ...Object.keys(ghost)])].map(Number).sort((a, b) => a - b);
  const xMax = Math.max(1, ...seconds);
  const yMax = Math.max(1, ...Object.values(rider), ...Object.values(ghost));
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `${label} against the ghost` });
  const { x, y } = axes(root, xMax, yMax, "output per second");
  const line = (values, cls) => {
    const points = seconds.filter((s) => values[s] !== undefined).map((s) => [s, values[s]]);
    root.append(svg("path", { class: cls, d: pathOf(points, x, y, 1) }));
  };
  line(ghost, "ghost");
  line(rider, "rider");
  let beaten = 0;
  let compared = 0;
  for (const s of seconds) {
    if (rider[s] === undefined || ghost[s] === undefined) continue;
    compared += 1;
    if (rider[s] > ghost[s]) {
      beaten += 1;
      const dot = svg("circle", { class: "beat", cx: x(s), cy: y(rider[s]), r: 3, "data-second": s });
      dot.append(svg("title", {}, `second ${s}: ${rider[s]} beats the ghost's ${ghost[s]}`));
      root.append(dot);
    }
  }
  container.replaceChildren(root);
  return { beaten, compared };
}
