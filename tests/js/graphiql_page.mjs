// The gateway's own GraphiQL page in headless Chromium, offline: every host but loopback fails to
// resolve, and every request the page makes (HTTP and websocket) is recorded for the test to check.
//
// Usage: node graphiql_page.mjs '<json options>' with
//   {url, chromium, flags, userDataDir, screenshot, query, subscription, headers}
// Prints one JSON object a line: {event: "loaded" | "query" | "subscribed" | "update" | "done", ...}.
// After "subscribed" the caller makes the change happen (a department webhook); the page waits for it.
import puppeteer from "puppeteer-core";

const options = JSON.parse(process.argv[2]);
const WAIT_MS = 20000;
const say = (event, fields = {}) => console.log(JSON.stringify({ event, ...fields }));

const browser = await puppeteer.launch({
  executablePath: options.chromium,
  headless: true,
  userDataDir: options.userDataDir,
  // offline: no name resolves but the gateway's loopback address
  args: [...options.flags, "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"],
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 900 });
  const requests = [];
  const failed = [];
  const websockets = [];
  const consoleErrors = [];
  let inline = 0; // data: URLs (the fonts inside graphiql.css): no network
  page.on("request", (request) => {
    if (request.url().startsWith("data:")) inline += 1;
    else requests.push(request.url());
  });
  page.on("requestfailed", (request) => failed.push(`${request.url()} ${request.failure()?.errorText}`));
  page.on("console", (message) => message.type() === "error" && consoleErrors.push(message.text()));
  page.on("pageerror", (error) => consoleErrors.push(String(error)));
  const cdp = await page.createCDPSession();
  await cdp.send("Network.enable");
  cdp.on("Network.webSocketCreated", (event) => websockets.push(event.url));

  const started = performance.now();
  await page.goto(`${options.url}/graphql`, { waitUntil: "load", timeout: WAIT_MS });
  const loadMs = performance.now() - started;
  await page.waitForSelector(".graphiql-query-editor .CodeMirror", { timeout: WAIT_MS });
  const editorMs = performance.now() - started;
  // the schema came in by introspection: the explorer plugin lists Query's fields
  await page.click('button[aria-label="Show GraphiQL Explorer"]');
  await page.waitForFunction(
    () => document.querySelector(".graphiql-plugin")?.innerText.includes("stations"),
    { timeout: WAIT_MS, polling: 20 },
  );
  const schemaMs = performance.now() - started;
  say("loaded", { loadMs, editorMs, schemaMs, title: await page.title() });

  // the headers editor: open its tab and type the token header into it
  await page.click('.graphiql-editor-tools button[data-name="headers"]');
  await page.waitForFunction(
    (headers) => {
      const tab = document.querySelector('.graphiql-editor-tools button[data-name="headers"]');
      const [, headerEditor] = document.querySelectorAll(".graphiql-editor-tool .graphiql-editor");
      if (!tab.classList.contains("active") || headerEditor.classList.contains("hidden")) return false;
      headerEditor.querySelector(".CodeMirror").CodeMirror.setValue(headers);
      return true;
    },
    { timeout: WAIT_MS, polling: 20 },
    options.headers,
  );

  say("query", { result: await run(page, options.query, ['"data"']) });

  await fill(page, options.subscription);
  await page.click(".graphiql-execute-button");
  say("subscribed");
  const update = await result(page, ["caseUpdated", "APPROVED"]);
  await page.screenshot({ path: options.screenshot, fullPage: true });
  say("update", { result: update });
  await page.click(".graphiql-execute-button"); // stop the subscription
  say("done", { requests, inline, failed, websockets, consoleErrors, screenshot: options.screenshot });
} finally {
  await browser.close();
}

// type into the query editor, and wait until GraphiQL has parsed it (it does so 100 ms after a change,
// and runs the document it parsed last: a click before would run the previous one)
async function fill(page, text) {
  await page.evaluate((query) => {
    document.querySelector(".graphiql-query-editor .CodeMirror").CodeMirror.setValue(query);
  }, text);
  await page.waitForFunction(
    (query) => {
      const editor = document.querySelector(".graphiql-query-editor .CodeMirror").CodeMirror;
      return editor.documentAST?.loc?.source.body === query;
    },
    { timeout: WAIT_MS, polling: 20 },
    text,
  );
}

async function run(page, text, done) {
  await fill(page, text);
  await page.click(".graphiql-execute-button");
  return result(page, done);
}

// the result pane's text, once it contains every one of `needles`
async function result(page, needles) {
  const handle = await page
    .waitForFunction(
    (wanted) => {
      const text = document.querySelector(".result-window .CodeMirror")?.CodeMirror.getValue() ?? "";
      return wanted.every((needle) => text.includes(needle)) ? text : false;
    },
    { timeout: WAIT_MS, polling: 50 },
    needles,
    )
    .catch(async (error) => {
      const text = await page.evaluate(
        () => document.querySelector(".result-window .CodeMirror")?.CodeMirror.getValue() ?? "(no pane)",
      );
      throw new Error(`waiting for ${needles.join(", ")} in the result pane: ${error.message}\n${text}`);
    });
  return JSON.parse(await handle.jsonValue());
}
