// The graphql-http audit (GraphQL over HTTP spec conformance) against a live gateway.
// Usage: node http_audit.mjs <url of /graphql>. Prints one JSON object: {total, ok, results: [...]}.
import { serverAudits } from "graphql-http";

const url = process.argv[2];
if (!url) {
  console.error("usage: node http_audit.mjs http://127.0.0.1:PORT/graphql");
  process.exit(2);
}
const results = [];
for (const audit of serverAudits({ url })) {
  const result = await audit.fn();
  results.push({ id: result.id, name: result.name, status: result.status, reason: result.reason ?? null });
}
const ok = results.filter((r) => r.status === "ok").length;
console.log(JSON.stringify({ total: results.length, ok, results }));
