// Runs inside a lab namespace: listens on the given TCP/UDP (address, port) pairs and answers each
// connection or datagram with this host's name, so a probe learns who served it. Plain JS so it
// starts in milliseconds in every namespace (no TypeScript loader needed).
import { createSocket } from "node:dgram";
import { createServer } from "node:net";

/** @type {{ name: string, tcp: { host: string, port: number }[], udp: { host: string, port: number }[] }} */
const spec = JSON.parse(process.argv[2] ?? "{}");
let pending = spec.tcp.length + spec.udp.length;
const ready = () => {
  pending -= 1;
  if (pending === 0) process.stdout.write("ready\n");
};
for (const { host, port } of spec.tcp) {
  const server = createServer((socket) => {
    socket.on("error", () => {});
    socket.end(`HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n${spec.name}\n`);
  });
  server.listen({ host, port }, ready);
}
for (const { host, port } of spec.udp) {
  const socket = createSocket("udp4");
  socket.on("message", (_msg, from) => socket.send(`${spec.name}\n`, from.port, from.address));
  socket.bind({ address: host, port }, ready);
}
if (pending === 0) process.stdout.write("ready\n");
