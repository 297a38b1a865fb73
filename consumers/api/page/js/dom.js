// DOM helpers. Every string goes in as textContent: a rider's name is text, never markup.

export function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.append(document.createTextNode(String(text)));
  if (className) node.className = className;
  return node;
}

export function row(cells, className) {
  const tr = el("tr", null, className);
  for (const cell of cells) tr.append(cell instanceof Node ? cell : el("td", cell));
  return tr;
}

export function fill(tbody, rows) {
  tbody.replaceChildren(...rows);
}

export const $ = (id) => document.getElementById(id);

// One formatter per precision (toLocaleString with options builds a new one per call: far slower).
const FORMATS = new Map();

export function fmt(value, digits = 1) {
  if (typeof value !== "number") return "–";
  let format = FORMATS.get(digits);
  if (!format) {
    format = new Intl.NumberFormat("en", { maximumFractionDigits: digits, minimumFractionDigits: digits });
    FORMATS.set(digits, format);
  }
  return format.format(value);
}

export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

const SVG = "http://www.w3.org/2000/svg";

export function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = String(text);
  return node;
}
