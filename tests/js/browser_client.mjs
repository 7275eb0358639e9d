// Chromium driver of live_session.mjs: a real page (served here, on its own origin) loads the
// graphql-ws and graphql-sse clients from their published browser builds, no bundler, and talks to the
// gateway as a web app would. Commands and events as in live_client.mjs, plus
//   {"cmd":"open","config":{...},"origin":"first"|"second"}: a fresh page on one of two origins.
// argv[2]: {"chromium": path, "flags": [...], "userDataDir": dir}
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import readline from 'node:readline';
import puppeteer from 'puppeteer-core';

const options = JSON.parse(process.argv[2]);
const emit = (event) => process.stdout.write(JSON.stringify(event) + '\n');
const here = new URL('.', import.meta.url);

const files = {
  '/graphql-ws.js': 'node_modules/graphql-ws/umd/graphql-ws.js',
  '/graphql-sse.js': 'node_modules/graphql-sse/umd/graphql-sse.js',
  '/live_session.mjs': 'live_session.mjs',
};
const page_html = `<!doctype html><meta charset="utf-8"><title>Onestop live updates</title>
<script src="/graphql-ws.js"></script><script src="/graphql-sse.js"></script>
<script type="module">
  import { liveSession } from '/live_session.mjs';
  window.openSession = (config) => {
    const createClient = config.kind === 'graphql-ws' ? graphqlWs.createClient : graphqlSse.createClient;
    window.session = liveSession(config, createClient, (event) => window.onestopEmit(event));
  };
  window.ready = true;
</script>`;

async function serve() {
  const server = http.createServer(async (request, response) => {
    const path = new URL(request.url, 'http://page').pathname;
    if (path === '/') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page_html);
    } else if (files[path]) {
      const body = await readFile(new URL(files[path], here));
      response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(body);
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${server.address().port}` };
}

const sites = { first: await serve(), second: await serve() };
const browser = await puppeteer.launch({
  executablePath: options.chromium,
  headless: true,
  args: [...options.flags, `--user-data-dir=${options.userDataDir}`],
});
let page = null;

async function exit(code) {
  await browser.close().catch(() => {});
  for (const { server } of Object.values(sites)) server.close();
  process.exit(code);
}

const commands = {
  async open({ config, origin = 'first' }) {
    await page?.close();
    page = await browser.newPage();
    page.on('console', (message) => emit({ event: 'console', text: message.text() }));
    page.on('pageerror', (error) => emit({ event: 'fatal', message: String(error) }));
    await page.exposeFunction('onestopEmit', emit);
    const started = performance.now();
    await page.goto(sites[origin].origin + '/');
    await page.waitForFunction('window.ready === true');
    await page.evaluate((config) => window.openSession(config), config);
    emit({ event: 'opened', loadMs: performance.now() - started });
  },
  subscribe: (command) => page.evaluate((c) => window.session.subscribe(c), command),
  unsubscribe: (command) => page.evaluate((c) => window.session.unsubscribe(c), command),
  async close() {
    await page?.evaluate(() => window.session.dispose());
    await page?.close();
    page = null;
    emit({ event: 'disposed' });
  },
  exit: () => exit(0),
};

emit({ event: 'ready', origins: { first: sites.first.origin, second: sites.second.origin } });
for await (const line of readline.createInterface({ input: process.stdin })) {
  try {
    const command = JSON.parse(line);
    await commands[command.cmd](command);
  } catch (error) {
    emit({ event: 'fatal', message: String(error?.stack ?? error) });
  }
}
await exit(0);
