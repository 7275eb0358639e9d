// Bundles GraphiQL, the explorer plugin, React and graphql-ws into one minified JS and one CSS in
// schema/static/graphiql/, with the licenses of every bundled package beside them. Run `npm ci && npm run
// build` here after changing a version in package.json, and commit schema/static/graphiql/.
import * as esbuild from "esbuild";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

// Packages published without a license file: the license of the repository they come from (both MIT).
const LICENSE_OF_REPOSITORY = {
  "@graphiql/plugin-doc-explorer": "graphiql",
  "@graphiql/plugin-explorer": "graphiql",
  "@graphiql/plugin-history": "graphiql",
  "react-compiler-runtime": "react",
};
const MIT = (holder) => `MIT License

Copyright (c) ${holder}

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction, including
without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is furnished to do so, subject to the
following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial
portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT
LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO
EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER
IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE
USE OR OTHER DEALINGS IN THE SOFTWARE.`;
const FONTS = `graphiql.css embeds, as graphiql's own style.css ships them, the Roboto font (Apache License 2.0,
Copyright Google) and the Fira Code font (SIL Open Font License 1.1, Copyright The Fira Code Project
Authors).`;

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(here, "../../schema/static/graphiql");

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const result = await esbuild.build({
  entryPoints: { graphiql: join(here, "src/main.jsx") },
  bundle: true,
  minify: true,
  format: "iife",
  target: ["chrome110", "firefox110", "safari16"],
  jsx: "automatic",
  define: { "process.env.NODE_ENV": '"production"' },
  legalComments: "none", // the full license texts go to THIRD-PARTY-LICENSES.txt instead
  loader: { ".woff": "dataurl", ".woff2": "dataurl", ".ttf": "dataurl", ".svg": "dataurl" },
  outdir: out,
  metafile: true,
  logLevel: "warning",
});

// every package some bundled file came from, with its license text
const packages = new Map();
for (const input of Object.keys(result.metafile.inputs)) {
  const match = input.match(/^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//);
  if (!match || packages.has(match[1])) continue;
  const dir = resolve(here, match[1]);
  const meta = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  packages.set(match[1], {
    name: meta.name,
    version: meta.version,
    license: typeof meta.license === "string" ? meta.license : JSON.stringify(meta.license),
    text: licenseText(dir, meta),
  });
}
function licenseFile(dir) {
  const file = readdirSync(dir).find((name) => /^(licen[cs]e|copying)/i.test(name));
  return file ? readFileSync(join(dir, file), "utf8").trim() : null;
}

function licenseText(dir, meta) {
  const own = licenseFile(dir);
  if (own) return own;
  const sibling = LICENSE_OF_REPOSITORY[meta.name];
  if (sibling) return licenseFile(resolve(here, "node_modules", sibling));
  const author = typeof meta.author === "string" ? meta.author : meta.author?.name;
  return meta.license === "MIT" && author ? MIT(author) : null;
}

const sorted = [...packages.values()].sort((a, b) => a.name.localeCompare(b.name));
const missing = sorted.filter((p) => !p.text);
const sections = sorted.map((p) =>
  [
    `${p.name} ${p.version} (${p.license})`,
    "-".repeat(72),
    p.text ?? `No license file in the package; its package.json declares ${p.license}.`,
  ].join("\n"),
);
writeFileSync(
  join(out, "THIRD-PARTY-LICENSES.txt"),
  `Onestop's GraphiQL bundle (graphiql.js, graphiql.css) contains these packages, built by web/graphiql.\n` +
    `${FONTS}\n\n` +
    sections.join("\n\n\n") +
    "\n",
);
for (const name of ["graphiql.js", "graphiql.css"]) {
  if (!existsSync(join(out, name))) throw new Error(`the build made no ${name}`);
}
console.log(`${sorted.length} packages bundled into ${out}`);
if (missing.length) throw new Error(`no license text for ${missing.map((p) => p.name).join(", ")}`);
