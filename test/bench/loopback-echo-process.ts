import { createServer } from 'node:net';

// The echo peer of the loopback suite (suites/loopback.ts): sends back every chunk it gets,
// and prints the port it listens on as its first line.
const server = createServer((socket) => {
  socket.setNoDelay(true);
  socket.on('data', (chunk) => socket.write(chunk));
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${typeof address === 'object' && address !== null ? address.port : 0}\n`);
});
