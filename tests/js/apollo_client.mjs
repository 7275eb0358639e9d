// Apollo Client 4 set up as docs/front-end.md shows (HttpLink behind a SetContextLink for the token,
// GraphQLWsLink over graphql-ws, split on subscriptions), driven by commands as live_client.mjs is:
//   {"cmd":"open","config":{"url","wsUrl","token"}}  {"cmd":"query","query"}
//   {"cmd":"subscribe","id","query","variables"}  {"cmd":"unsubscribe","id"}  {"cmd":"exit"}
import readline from 'node:readline';
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { SetContextLink } from '@apollo/client/link/context';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { isSubscriptionOperation } from '@apollo/client/utilities';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const emit = (event) => process.stdout.write(JSON.stringify(event) + '\n');
const now = () => performance.timeOrigin + performance.now();
let client = null;
let wsClient = null;
const running = new Map();

function open({ url, wsUrl, token: current }) {
  const token = () => current;
  const http = new SetContextLink(({ headers }) => ({
    headers: { ...headers, Authorization: `Bearer ${token()}` },
  })).concat(new HttpLink({ uri: url }));
  wsClient = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: () => ({ Authorization: `Bearer ${token()}` }),
    retryAttempts: Infinity,
    shouldRetry: () => true,
    on: { connected: () => emit({ event: 'connected' }) },
  });
  const ws = new GraphQLWsLink(wsClient);
  client = new ApolloClient({
    link: ApolloLink.split(({ query }) => isSubscriptionOperation(query), ws, http),
    cache: new InMemoryCache(),
  });
}

const commands = {
  open({ config }) {
    open(config);
    emit({ event: 'opened' });
  },
  async query({ query }) {
    const result = await client.query({ query: gql(query), fetchPolicy: 'network-only' });
    emit({ event: 'result', data: result.data, error: result.error?.message ?? null });
  },
  subscribe({ id, query, variables }) {
    const subscription = client.subscribe({ query: gql(query), variables }).subscribe({
      next: (result) => emit({ event: 'next', id, at: now(), payload: { data: result.data, errors: result.error ? [String(result.error)] : undefined } }),
      error: (error) => emit({ event: 'error', id, error: { message: String(error?.message ?? error) } }),
      complete: () => emit({ event: 'complete', id }),
    });
    running.set(id, subscription);
  },
  unsubscribe({ id }) {
    running.get(id)?.unsubscribe();
    running.delete(id);
    emit({ event: 'unsubscribed', id });
  },
  async close() {
    for (const subscription of running.values()) subscription.unsubscribe();
    running.clear();
    client?.stop();
    await wsClient?.dispose();
    emit({ event: 'disposed' });
  },
  async exit() {
    await commands.close();
    process.exit(0);
  },
};

emit({ event: 'ready' });
for await (const line of readline.createInterface({ input: process.stdin })) {
  try {
    const command = JSON.parse(line);
    await commands[command.cmd](command);
  } catch (error) {
    emit({ event: 'fatal', message: String(error?.stack ?? error) });
  }
}
