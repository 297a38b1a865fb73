"""infra/local/kinesalite-sequences.js gives what kinesalite's own (bignumber.js) sequence functions give.

Both run in Node on the same inputs: every field combination of the three versions kinesalite
knows, seeded random ones, the numbers those produce and their neighbours, and input to refuse;
an answer or an error message must be the same. The BigInt functions must also answer the
version-2 numbers kinesalite writes on their own, not by handing every one to the original.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

NODE_DIR = Path(__file__).resolve().parents[2] / "infra" / "local"

CHECK = r"""
const db = require('kinesalite/db')
const { bigIntSequences } = require('./kinesalite-sequences.js')
const delegated = { parse: 0, stringify: 0 }
const counted = {
  parseSequence: (seq) => { delegated.parse++; return db.parseSequence(seq) },
  stringifySequence: (obj) => { delegated.stringify++; return db.stringifySequence(obj) },
  shardIxToHex: db.shardIxToHex,
}
const fast = bigIntSequences(counted)
let state = 20261207
function random() { // mulberry32: the same cases every run
  state = (state + 0x6d2b79f5) | 0
  let t = Math.imul(state ^ (state >>> 15), 1 | state)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
const pick = (values) => values[Math.floor(random() * values.length)]
const now = 1796601600000
const answer = (f, x) => {
  try { return JSON.stringify({ ok: f(x) }) } catch (e) { return JSON.stringify({ err: String(e.message) }) }
}
const mismatches = []
let cases = 0
function same(name, x) {
  cases++
  const a = answer(name === 'parse' ? db.parseSequence : db.stringifySequence, x)
  const b = answer(name === 'parse' ? fast.parseSequence : fast.stringifySequence, x)
  if (a !== b && mismatches.length < 5) {
    mismatches.push({ name, input: String(JSON.stringify(x)), original: a, bigint: b })
  }
}
const numbers = []
const written = [] // the fields and number of each case as kinesalite writes it
for (let i = 0; i < 20000; i++) {
  const odd = i % 2 === 1 // half as kinesalite writes them, half anything the functions may be given
  const obj = odd ? {
    version: pick([undefined, 2, 1, 0, 3]),
    shardCreateTime: pick([0, 1000, 16025175000 * 1000 - 1000, 16025175000 * 1000, NaN, undefined]),
    shardIx: pick([2147483647, -1, undefined]),
    seqIx: pick([Number.MAX_SAFE_INTEGER, 2 ** 60, 1.5, -3, '9223372036854775807', '', 'abc', undefined]),
    seqTime: pick([undefined, 0]),
    byte1: pick([undefined, '00', 'ff', 'zz']),
  } : {
    shardCreateTime: now + Math.floor(random() * 1e10) - 5e9,
    shardIx: Math.floor(random() * 60),
    seqIx: pick([Math.floor(random() * 1e6), String(Math.floor(random() * Number.MAX_SAFE_INTEGER))]),
    seqTime: now + Math.floor(random() * 1e10),
  }
  same('stringify', obj)
  try { numbers.push(db.stringifySequence(obj)) } catch (e) {}
  if (!odd) written.push([obj, numbers[numbers.length - 1]])
}
for (const seq of numbers) {
  if (!/^\d+$/.test(seq)) { same('parse', seq); continue }
  const n = BigInt(seq)
  for (const x of [n - 1n, n, n + 1n]) same('parse', x.toString()) // neighbours: versions 1 and 3
}
for (let i = 0; i < 5000; i++) {
  let digits = String(1 + Math.floor(random() * 9))
  const length = 1 + Math.floor(random() * 60)
  while (digits.length < length) digits += String(Math.floor(random() * 10))
  same('parse', digits)
}
for (const x of ['', 'abc', '12a', ' 12', '-5', '1e60', '0x12', 12, undefined]) same('parse', x)
const before = { ...delegated }
for (const [obj, seq] of written) {
  fast.stringifySequence(obj)
  fast.parseSequence(seq)
}
const writtenDelegated = { parse: delegated.parse - before.parse, stringify: delegated.stringify - before.stringify }
console.log(JSON.stringify({ cases, mismatches, written: written.length, writtenDelegated }))
"""


def test_bigint_sequences_answer_as_kinesalites_own() -> None:
    out = subprocess.run(["node", "-e", CHECK], cwd=NODE_DIR, capture_output=True, text=True, check=True, timeout=120)
    result = json.loads(out.stdout)
    assert result["mismatches"] == []
    assert result["cases"] > 50_000
    # what kinesalite writes is answered without the original
    assert result["written"] == 10_000
    assert result["writtenDelegated"] == {"parse": 0, "stringify": 0}
