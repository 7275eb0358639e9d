// Apollo Client's automatic persisted queries against live gateways, counting the HTTP requests each
// query costs. Usage: node apq_apollo.mjs '{"first": "http://a", "second": "http://b"}'
// (two gateway processes sharing Redis). Prints one JSON object: {steps: {name: [requests...]}}.
import { createHash } from "node:crypto";
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { createPersistedQueryLink } from "@apollo/client/link/persisted-queries";

const { first, second } = JSON.parse(process.argv[2]);
const sha256 = (text) => createHash("sha256").update(text).digest("hex");

let requests = [];
async function countingFetch(url, init = {}) {
  const response = await fetch(url, init);
  const body = typeof init.body === "string" ? JSON.parse(init.body) : null;
  const asked = new URL(url);
  requests.push({
    method: init.method ?? "GET",
    withQuery: Boolean(body?.query ?? asked.searchParams.get("query")),
    withHash: Boolean(body?.extensions?.persistedQuery ?? asked.searchParams.get("extensions")),
    status: response.status,
  });
  return response;
}

function client(base, useGETForHashedQueries = false) {
  // createPersistedQueryLink: the function Apollo's docs and most apps use (PersistedQueryLink in 4.x)
  const persisted = createPersistedQueryLink({ sha256, useGETForHashedQueries });
  return new ApolloClient({
    cache: new InMemoryCache(),
    link: persisted.concat(new HttpLink({ uri: `${base}/graphql`, fetch: countingFetch })),
  });
}

async function step(run) {
  requests = [];
  const result = await run();
  if (result.error) throw result.error;
  return { requests, departments: result.data.departments.length };
}

const DEPARTMENTS = gql`
  query Departments {
    departments {
      id
      nameEn
    }
  }
`;
const STATUS = gql`
  query DepartmentStatus {
    departments {
      id
      status
    }
  }
`;

const onFirst = client(first);
const steps = {};
const ask = (apollo, query) => () => apollo.query({ query, fetchPolicy: "network-only" });
steps.firstQuery = await step(ask(onFirst, DEPARTMENTS));
steps.sameQueryAgain = await step(ask(onFirst, DEPARTMENTS));
steps.sameQueryNewClient = await step(ask(client(first), DEPARTMENTS));
// GET for hashed queries (cacheable by a CDN): miss by GET, register by POST, then GET alone
const getter = client(first, true);
steps.getFirstQuery = await step(ask(getter, STATUS));
steps.getAgain = await step(ask(getter, STATUS));
// another gateway process, sharing Redis: knows both documents at once
steps.otherProcess = await step(ask(client(second), DEPARTMENTS));
steps.otherProcessGet = await step(ask(client(second, true), STATUS));
console.log(JSON.stringify({ steps }));
