// A TCP proxy to a local port that can fall silent: connections stay open but nothing passes either
// way (a target behind a dead network path), until `resume` delivers what was held back.
import type { Socket } from "bun";

interface Pair {
  client: Socket<Pair>;
  server?: Socket<Pair>;
  toServer: Uint8Array[];
  toClient: Uint8Array[];
}

export interface SilentProxy {
  port: number;
  silence(): void;
  resume(): void;
  stop(): void;
}

export function startSilentProxy(targetPort: number): SilentProxy {
  let silent = false;
  const pairs = new Set<Pair>();
  const flush = (pair: Pair) => {
    if (silent || !pair.server) return;
    for (const chunk of pair.toServer.splice(0)) pair.server.write(chunk);
    for (const chunk of pair.toClient.splice(0)) pair.client.write(chunk);
  };
  const listener = Bun.listen<Pair>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(client) {
        const pair: Pair = { client, toServer: [], toClient: [] };
        client.data = pair;
        pairs.add(pair);
        Bun.connect<Pair>({
          hostname: "127.0.0.1",
          port: targetPort,
          socket: {
            open(server) {
              server.data = pair;
              pair.server = server;
              flush(pair);
            },
            data(_, chunk) {
              pair.toClient.push(new Uint8Array(chunk));
              flush(pair);
            },
            close: () => {
              pair.client.end();
            },
            error: () => {
              pair.client.end();
            },
          },
        }).catch(() => client.end());
      },
      data(client, chunk) {
        client.data.toServer.push(new Uint8Array(chunk));
        flush(client.data);
      },
      close(client) {
        client.data.server?.end();
        pairs.delete(client.data);
      },
      error() {},
    },
  });
  return {
    port: listener.port,
    silence: () => {
      silent = true;
    },
    resume: () => {
      silent = false;
      for (const pair of pairs) flush(pair);
    },
    stop: () => listener.stop(true),
  };
}
