// GraphiQL as Onestop serves it: one bundle, no CDN. The page (schema/view.py) gives the endpoint in
// data-endpoint on #graphiql; no inline script, so a strict Content-Security-Policy can stay on.
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { explorerPlugin } from "@graphiql/plugin-explorer";
import { GraphiQL } from "graphiql";
import { createRoot } from "react-dom/client";
import "graphiql/style.css";
import "@graphiql/plugin-explorer/style.css";

const DEFAULT_QUERY = `# Onestop: one GraphQL endpoint over the district's departments.
# Signed-in queries: put {"Authorization": "Bearer <token>"} in Headers below
# (make demo prints tokens). Run: Ctrl-Enter.
{
  departments {
    id
    name
    nameEn
  }
}
`;

/** The websocket URL of the same endpoint: ws:// beside http://, wss:// beside https://. */
function websocketUrl(endpoint) {
  const url = new URL(endpoint, window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.hash = "";
  return url.toString();
}

const root = document.getElementById("graphiql");
const endpoint = root.dataset.endpoint || "/graphql";
const fetcher = createGraphiQLFetcher({
  url: endpoint,
  // the headers editor's headers also go as connection_init payload: the gateway reads Authorization there
  subscriptionUrl: websocketUrl(endpoint),
});
const plugins = [explorerPlugin()];

createRoot(root).render(
  <GraphiQL
    fetcher={fetcher}
    plugins={plugins}
    defaultQuery={DEFAULT_QUERY}
    isHeadersEditorEnabled
    defaultEditorToolsVisibility
    inputValueDeprecation
  />,
);
