// A second district's subgraph, as small as Apollo Federation v2 allows: its events name a Onestop
// Service by id (`@key(..., resolvable: false)`), so the router must ask Onestop's `_entities` for the
// rest. Plain graphql-js over node:http; prints its port on stdout, stops on SIGTERM.
import http from 'node:http';
import { buildSchema, graphql } from 'graphql';

const sdl = `
extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])

type Query {
  "Events in the district that name a Onestop service."
  events: [Event!]!
}

type Event {
  id: ID!
  title: String!
  service: Service!
}

type Service @key(fields: "id", resolvable: false) {
  id: ID!
}
`;

const schema = buildSchema(`
directive @key(fields: String!, resolvable: Boolean = true) repeatable on OBJECT
directive @link(url: String!, import: [String]) repeatable on SCHEMA
type _Service { sdl: String! }
type Query { events: [Event!]! _service: _Service! }
type Event { id: ID! title: String! service: Service! }
type Service { id: ID! }
`);

const events = (process.env.EVENT_SERVICES || 'MZ-001').split(',').map((id, i) => ({
  id: `E${i + 1}`,
  title: `Open day for ${id}`,
  service: { id },
}));
const root = { events: () => events, _service: () => ({ sdl }) };

const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', async () => {
    const { query, variables, operationName } = JSON.parse(body || '{}');
    const result = await graphql({ schema, source: query, rootValue: root, variableValues: variables, operationName });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(result));
  });
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
