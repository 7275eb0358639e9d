// mesh-compose's configuration (https://the-guild.dev/graphql/mesh/v1/compose): Onestop and a second
// district's subgraph, both read as Federation subgraphs through `_service { sdl }`. The URLs come
// from the environment, so the test can use free ports.
import { defineConfig, loadGraphQLHTTPSubgraph } from '@graphql-mesh/compose-cli';

export const composeConfig = defineConfig({
  subgraphs: [
    {
      sourceHandler: loadGraphQLHTTPSubgraph('onestop', {
        endpoint: process.env.ONESTOP_SUBGRAPH_URL,
        federation: true,
      }),
    },
    {
      sourceHandler: loadGraphQLHTTPSubgraph('events', {
        endpoint: process.env.EVENTS_SUBGRAPH_URL,
        federation: true,
      }),
    },
  ],
});
