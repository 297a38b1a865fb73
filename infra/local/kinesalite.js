// Starts kinesalite on 127.0.0.1 only (its own CLI listens on every interface).
// Usage: node kinesalite.js --port 4567 --path DIR
const argv = require('minimist')(process.argv.slice(2))
const kinesalite = require('kinesalite')
const server = kinesalite({ path: argv.path, createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 50 })
server.listen(Number(argv.port || 4567), '127.0.0.1', () => {
  const a = server.address()
  console.log(`kinesalite listening on http://${a.address}:${a.port} path=${argv.path || '(memory)'}`)
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))
