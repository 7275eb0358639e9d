// One client of Onestop's live updates, driven by commands, for the conformance tests
// (tests/test_clients_*.py). The same code runs in Node (live_client.mjs) and in a Chromium page
// (browser_client.mjs): only `createClient` (graphql-ws or graphql-sse) and the WebSocket differ.
//
// config: { kind: 'graphql-ws' | 'graphql-sse-single' | 'graphql-sse-distinct', url, token,
//           retryMs, retryAttempts, webSocketImpl? }
// emit(event): { event: 'connected' | 'closed' | 'next' | 'error' | 'complete' | ..., ... }

const now = () => performance.timeOrigin + performance.now();
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function describe(error) {
  if (error === null || error === undefined) return null;
  if (Array.isArray(error)) return { graphql: error }; // GraphQL errors (graphql-ws)
  if (typeof error.code === 'number') return { code: error.code, reason: error.reason }; // CloseEvent
  if (typeof error.type === 'string') return { type: error.type }; // the socket's `error` Event
  const status = error.response?.status; // graphql-sse's NetworkError wraps a Response
  return { message: String(error.message ?? error), status };
}

export function liveSession(config, createClient, emit) {
  const { kind, url, token, retryMs = 100, retryAttempts = 100 } = config;
  const auth = token ? { Authorization: `Bearer ${token}` } : {};
  const retry = async () => pause(retryMs);
  const client =
    kind === 'graphql-ws'
      ? createClient({
          url,
          webSocketImpl: config.webSocketImpl,
          connectionParams: auth, // browsers cannot set websocket headers: the token goes here
          retryAttempts,
          retryWait: retry,
          // graphql-ws retries only after a CloseEvent by default; a browser reports a refused
          // connection (the gateway restarting) as an `error` Event first: retry that too
          shouldRetry: () => true,
          on: {
            connected: () => emit({ event: 'connected' }),
            closed: (event) => emit({ event: 'closed', code: event?.code }),
          },
        })
      : createClient({
          url,
          headers: auth,
          singleConnection: kind === 'graphql-sse-single',
          retryAttempts,
          retry,
          on: { connected: () => emit({ event: 'connected' }) },
        });
  const running = new Map();
  return {
    subscribe({ id, query, variables }) {
      const dispose = client.subscribe(
        { query, variables },
        {
          next: (payload) => emit({ event: 'next', id, at: now(), payload }),
          error: (error) => emit({ event: 'error', id, error: describe(error) }),
          complete: () => emit({ event: 'complete', id }),
        },
      );
      running.set(id, dispose);
    },
    unsubscribe({ id }) {
      running.get(id)?.();
      running.delete(id);
      emit({ event: 'unsubscribed', id });
    },
    async dispose() {
      for (const dispose of running.values()) dispose();
      running.clear();
      await client.dispose();
    },
  };
}
