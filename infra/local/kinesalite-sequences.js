// kinesalite's sequence numbers on the engine's BigInt instead of bignumber.js, same answers.
//
// A sequence number is a 56-digit decimal whose hex digits hold its fields (shard, creation time,
// index, arrival second). kinesalite builds one for every record put (stringifySequence) and takes
// one apart for every record read (parseSequence) with bignumber.js, whose base conversion was half
// of kinesalite's busy time in a profile (node --cpu-prof, 72,000 records put and read:
// bignumber.js 2.2 of 3.7 s). These do the version-2 numbers kinesalite writes with BigInt; any
// other input (another version, a field that is not hex, something to refuse) goes to the original,
// so errors stay its own. tests/unit/test_kinesalite_sequences.py runs both on the same inputs.

const POW_2_185 = 1n << 185n
const POW_2_185_NEXT = 3n << 184n // 2^185 x 1.5
const DIGITS = /^\d+$/
const HEX = /^[0-9a-f]+$/
const MAX_SHARD_CREATE_SECS = 16025175000

function pad(width, text) {
  return ('0'.repeat(width) + text).slice(-width)
}

// The BigInt of a safe integer or a string of digits, else null (bignumber.js reads a larger number
// from its shortest decimal text, which is not its exact value).
function naturalNumber(value) {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? BigInt(value) : null
  return typeof value === 'string' && DIGITS.test(value) ? BigInt(value) : null
}

// { parseSequence, stringifySequence } over kinesalite's db module's own (kept for what these pass on).
function bigIntSequences(db) {
  const original = { parse: db.parseSequence, stringify: db.stringifySequence }

  function parseSequence(seq) {
    if (typeof seq !== 'string' || !DIGITS.test(seq)) return original.parse(seq)
    const n = BigInt(seq)
    const hex = n.toString(16)
    if (!(n > POW_2_185 && n < POW_2_185_NEXT) || hex[hex.length - 1] !== '2') return original.parse(seq)
    const seqIxHex = hex.slice(11, 27)
    const shardIxHex = hex.slice(38, 46)
    const shardCreateSecs = parseInt(hex.slice(1, 10), 16)
    // a negative shard index, too high an index or too late a date: the original's answer or error
    if (parseInt(seqIxHex[0], 16) > 7 || parseInt(shardIxHex[0], 16) > 7 || shardCreateSecs >= MAX_SHARD_CREATE_SECS) {
      return original.parse(seq)
    }
    return {
      shardCreateTime: shardCreateSecs * 1000,
      seqIx: BigInt('0x' + seqIxHex).toString(),
      byte1: hex.slice(27, 29),
      seqTime: parseInt(hex.slice(29, 38), 16) * 1000,
      shardIx: parseInt(shardIxHex, 16),
      version: 2,
    }
  }

  function stringifySequence(obj) {
    if (obj.version != null && obj.version != 2) return original.stringify(obj)
    const seqIx = naturalNumber(obj.seqIx || 0)
    if (seqIx === null) return original.stringify(obj)
    const hex = [
      '2',
      pad(9, Math.floor(obj.shardCreateTime / 1000).toString(16)),
      (obj.shardIx || 0).toString(16).slice(-1),
      pad(16, seqIx.toString(16)),
      obj.byte1 || '00',
      pad(9, Math.floor((obj.seqTime || obj.shardCreateTime) / 1000).toString(16)),
      db.shardIxToHex(obj.shardIx),
      '2',
    ].join('')
    return HEX.test(hex) ? BigInt('0x' + hex).toString() : original.stringify(obj)
  }

  return { parseSequence, stringifySequence }
}

module.exports = { bigIntSequences }
