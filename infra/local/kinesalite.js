// Starts kinesalite on 127.0.0.1 only (its own CLI listens on every interface).
// Usage: node kinesalite.js --port 4567 --path DIR [--limits on|off]
//
// --limits on (the default) enforces Kinesis Data Streams' per-shard quotas, which kinesalite does
// not: writes 1,000 records/s and 1 MiB/s per shard (data blob plus partition key), reads 5
// GetRecords calls/s and 2 MiB/s per shard. Each quota is a token bucket holding one second's worth
// that refills continuously. A PutRecords record over quota gets ProvisionedThroughputExceededException
// with AWS's message while the rest of the call succeeds; PutRecord and GetRecords raise it. A
// GetRecords answer may overdraw the read-bytes bucket (AWS lets one call return up to 10 MiB and
// then throttles the shard's reads until the average is back under 2 MiB/s).
// GetRecords' MillisBehindLatest is computed as AWS defines it (kinesalite always answers 0): how far
// the oldest record not yet returned is behind now, 0 at the tip. Sequence numbers are made and read
// with BigInt (kinesalite-sequences.js): the same numbers, at a fraction of bignumber.js's cost.
const argv = require('minimist')(process.argv.slice(2))
const limits = String(argv.limits || 'on') !== 'off'

const MIB = 1024 * 1024
const QUOTAS = { writeRecords: 1000, writeBytes: MIB, readCalls: 5, readBytes: 2 * MIB }
const THROTTLED = 'ProvisionedThroughputExceededException'
const BigNumber = require('bignumber.js')
const crypto = require('crypto')

const actionPath = (name) => require.resolve(`kinesalite/actions/${name}`)
const db = require('kinesalite/db')
const original = {
  putRecord: require(actionPath('putRecord')),
  putRecords: require(actionPath('putRecords')),
  getRecords: require(actionPath('getRecords')),
}

class Bucket {
  constructor(perSecond) {
    this.rate = perSecond
    this.tokens = perSecond
    this.at = Date.now()
  }

  refill() {
    const now = Date.now()
    this.tokens = Math.min(this.rate, this.tokens + ((now - this.at) / 1000) * this.rate)
    this.at = now
  }

  // Whether n tokens are there; a request bigger than the whole bucket passes when it is full.
  has(n) {
    this.refill()
    return this.tokens >= Math.min(n, this.rate)
  }

  take(n) {
    this.refill()
    this.tokens -= n
  }
}

const buckets = new Map()
function bucketsOf(stream, shardId) {
  const key = `${stream}/${shardId}`
  let b = buckets.get(key)
  if (!b) {
    b = {
      writeRecords: new Bucket(QUOTAS.writeRecords),
      writeBytes: new Bucket(QUOTAS.writeBytes),
      readCalls: new Bucket(QUOTAS.readCalls),
      readBytes: new Bucket(QUOTAS.readBytes),
    }
    buckets.set(key, b)
  }
  return b
}

function rateExceeded(store, stream, shardId) {
  return `Rate exceeded for shard ${shardId} in stream ${stream} under account ${store.metaDb.awsAccountId}.`
}

function blobBytes(data) {
  return Buffer.isBuffer(data) ? data.length : Buffer.from(data || '', 'base64').length
}

// The open shard a record goes to, as kinesalite routes it; null when the hash key is invalid (the
// original action reports that).
function shardFor(stream, record) {
  let hashKey
  try {
    hashKey = record.ExplicitHashKey != null ? new BigNumber(record.ExplicitHashKey) : db.partitionKeyToHashKey(record.PartitionKey)
  } catch (e) {
    return null
  }
  for (const shard of stream.Shards) {
    if (shard.SequenceNumberRange.EndingSequenceNumber == null &&
        hashKey.comparedTo(shard.HashKeyRange.StartingHashKey) >= 0 &&
        hashKey.comparedTo(shard.HashKeyRange.EndingHashKey) <= 0) return shard
  }
  return null
}

// Admits the record if both write buckets of its shard have room, and then charges them.
function admitWrite(streamName, shard, record) {
  const b = bucketsOf(streamName, shard.ShardId)
  const bytes = blobBytes(record.Data) + Buffer.byteLength(record.PartitionKey || '')
  if (!b.writeRecords.has(1) || !b.writeBytes.has(bytes)) return false
  b.writeRecords.take(1)
  b.writeBytes.take(bytes)
  return true
}

function writable(stream) {
  return stream && ~['ACTIVE', 'UPDATING'].indexOf(stream.StreamStatus)
}

function putRecords(store, data, cb) {
  store.getStream(data.StreamName, (err, stream) => {
    if (err || !writable(stream)) return original.putRecords(store, data, cb)
    const results = new Array(data.Records.length)
    const accepted = []
    data.Records.forEach((record, i) => {
      const shard = shardFor(stream, record)
      if (!shard || admitWrite(data.StreamName, shard, record)) accepted.push(i)
      else results[i] = { ErrorCode: THROTTLED, ErrorMessage: rateExceeded(store, data.StreamName, shard.ShardId) }
    })
    const throttled = data.Records.length - accepted.length
    if (!throttled) return original.putRecords(store, data, cb)
    if (!accepted.length) return cb(null, { FailedRecordCount: throttled, Records: results })
    original.putRecords(store, { ...data, Records: accepted.map((i) => data.Records[i]) }, (err, res) => {
      if (err) return cb(err)
      res.Records.forEach((r, k) => { results[accepted[k]] = r })
      cb(null, { FailedRecordCount: throttled + (res.FailedRecordCount || 0), Records: results })
    })
  })
}

function putRecord(store, data, cb) {
  store.getStream(data.StreamName, (err, stream) => {
    if (err || !writable(stream)) return original.putRecord(store, data, cb)
    const shard = shardFor(stream, data)
    if (shard && !admitWrite(data.StreamName, shard, data)) {
      return cb(db.clientError(THROTTLED, rateExceeded(store, data.StreamName, shard.ShardId)))
    }
    original.putRecord(store, data, cb)
  })
}

// The stream and shard an iterator names (null if it is not one of ours: the original says why).
function iteratorShard(iterator) {
  try {
    const buffer = Buffer.from(iterator, 'base64')
    const decipher = crypto.createDecipheriv('aes-256-cbc', db.ITERATOR_PWD_KEY, db.ITERATOR_PWD_IV)
    const pieces = Buffer.concat([decipher.update(buffer.slice(8)), decipher.final()]).toString('utf8').split('/')
    if (pieces.length !== 5) return null
    return { stream: pieces[1], shardId: pieces[2], shardIx: parseInt(pieces[2].split('-')[1]), seq: pieces[3] }
  } catch (e) {
    return null
  }
}

function answerBytes(res) {
  return (res.Records || []).reduce((n, r) => n + blobBytes(r.Data) + Buffer.byteLength(r.PartitionKey || ''), 0)
}

// How far behind now the oldest record after this answer is (0: nothing after it, at the tip).
function millisBehind(store, where, res, cb) {
  const records = res.Records || []
  const prefix = db.shardIxToHex(where.shardIx) + '/'
  const opts = records.length
    ? { gt: prefix + records[records.length - 1].SequenceNumber, lt: db.shardIxToHex(where.shardIx + 1), limit: 1 }
    : { gte: prefix + where.seq, lt: db.shardIxToHex(where.shardIx + 1), limit: 1 }
  let next = null
  store.getStreamDb(where.stream).createReadStream(opts)
    .on('data', (item) => { next = item.value })
    .on('error', () => cb(res.MillisBehindLatest || 0))
    .on('end', () => cb(next ? Math.max(0, Date.now() - Math.round(next.ApproximateArrivalTimestamp * 1000)) : 0))
}

function getRecords(store, data, cb) {
  const where = iteratorShard(data.ShardIterator)
  if (!where) return original.getRecords(store, data, cb)
  const b = bucketsOf(where.stream, where.shardId)
  if (limits && (!b.readCalls.has(1) || !b.readBytes.has(1))) {
    return cb(db.clientError(THROTTLED, rateExceeded(store, where.stream, where.shardId)))
  }
  original.getRecords(store, data, (err, res) => {
    if (err) return cb(err)
    if (limits) {
      b.readCalls.take(1)
      b.readBytes.take(answerBytes(res))
    }
    millisBehind(store, where, res, (ms) => {
      res.MillisBehindLatest = ms
      cb(null, res)
    })
  })
}

// The actions call the sequence functions through the db module, so these replace them everywhere.
Object.assign(db, require('./kinesalite-sequences.js').bigIntSequences(db))

// Replace the actions before kinesalite loads them (it requires each action module once, by path).
if (limits) {
  require.cache[actionPath('putRecords')].exports = putRecords
  require.cache[actionPath('putRecord')].exports = putRecord
}
require.cache[actionPath('getRecords')].exports = getRecords

const kinesalite = require('kinesalite')
const server = kinesalite({ path: argv.path, createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 50 })
// No CORS: kinesalite answers any Origin with Access-Control-Allow-Origin: *, so any web page open
// in the user's browser could read or inject telemetry. SDKs send no Origin; a browser always
// does on a cross-origin request, so a request with one is refused (403, no CORS headers).
const handlers = server.listeners('request')
server.removeAllListeners('request')
server.on('request', (req, res) => {
  if (req.headers.origin) {
    res.statusCode = 403
    return res.end()
  }
  for (const handler of handlers) handler.call(server, req, res)
})
server.listen(Number(argv.port || 4567), '127.0.0.1', () => {
  const a = server.address()
  console.log(`kinesalite listening on http://${a.address}:${a.port} path=${argv.path || '(memory)'} limits=${limits ? 'on' : 'off'}`)
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))
