// Node driver of live_session.mjs: the graphql-ws client (with the `ws` package as its WebSocket) or
// the graphql-sse client (Node's fetch), as a Node service or SSR front-end would use them.
// argv[2]: nothing; commands on stdin, one JSON object a line:
//   {"cmd":"open","config":{...}}  {"cmd":"subscribe","id":..,"query":..,"variables":..}
//   {"cmd":"unsubscribe","id":..}  {"cmd":"close"}  {"cmd":"exit"}
// events on stdout, one JSON object a line (see live_session.mjs).
import readline from 'node:readline';
import { createClient as graphqlWs } from 'graphql-ws';
import { createClient as graphqlSse } from 'graphql-sse';
import WebSocket from 'ws';
import { liveSession } from './live_session.mjs';

const emit = (event) => process.stdout.write(JSON.stringify(event) + '\n');
let session = null;
emit({ event: 'ready' });

const commands = {
  open({ config }) {
    const createClient = config.kind === 'graphql-ws' ? graphqlWs : graphqlSse;
    session = liveSession({ ...config, webSocketImpl: WebSocket }, createClient, emit);
    emit({ event: 'opened' });
  },
  subscribe: (command) => session.subscribe(command),
  unsubscribe: (command) => session.unsubscribe(command),
  async close() {
    await session?.dispose();
    session = null;
    emit({ event: 'disposed' });
  },
  async exit() {
    await session?.dispose();
    process.exit(0);
  },
};

for await (const line of readline.createInterface({ input: process.stdin })) {
  try {
    const command = JSON.parse(line);
    await commands[command.cmd](command);
  } catch (error) {
    emit({ event: 'fatal', message: String(error?.stack ?? error) });
  }
}
