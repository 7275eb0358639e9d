// A kiosk's browser and its HTTP cache in front of the gateway: headless Chromium opens a page of the
// gateway's own origin and fetches one public query by GET three times — as a page would (the cache
// decides), then forcing revalidation (`cache: 'no-cache'`: If-None-Match, a 304 turned back into the
// cached 200) — and one personal query twice. Prints what the page saw, one JSON object.
// argv[2]: {"chromium": path, "flags": [...], "userDataDir": dir, "origin": url, "public": url, "personal": url, "token": str}
import puppeteer from 'puppeteer-core';

const options = JSON.parse(process.argv[2]);
const browser = await puppeteer.launch({
  executablePath: options.chromium,
  args: options.flags,
  userDataDir: options.userDataDir,
  headless: true,
});
try {
  const page = await browser.newPage();
  await page.goto(`${options.origin}/healthz`);
  const seen = await page.evaluate(async (o) => {
    const get = async (url, init) => {
      const response = await fetch(url, init);
      return { status: response.status, body: await response.text(), control: response.headers.get('cache-control') };
    };
    const personal = { headers: { authorization: `Bearer ${o.token}` } };
    return {
      first: await get(o.public, {}),
      second: await get(o.public, {}),
      revalidated: await get(o.public, { cache: 'no-cache' }),
      personalFirst: await get(o.personal, personal),
      personalSecond: await get(o.personal, personal),
    };
  }, options);
  process.stdout.write(JSON.stringify(seen) + '\n');
} finally {
  await browser.close();
}
