// The browser's half of bench/dashboard.sh: the dashboard of a large fleet in Debian's
// chromium (playwright-core), timed from inside the page.
// Usage: node dashboard_bench.mjs URL SESSIONS HOSTS SECONDS
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "../tests/web/package.json"));
const { chromium } = require("playwright-core");
const [url, sessionsWanted, hostsWanted, seconds] = process.argv.slice(2);

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium",
                                        args: ["--no-sandbox"] });
const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
page.on("pageerror", (e) => console.log(`page error: ${e.message}`));

async function load(view, what, count) {
  await page.goto("about:blank");
  await page.goto(`${url}/#/${view}`);
  await page.waitForFunction(() => window.utmpDashboard && window.utmpDashboard.ready, null,
                             { timeout: 60000 });
  const result = await page.evaluate(() => {
    const nav = performance.getEntriesByType("navigation")[0];
    return { readyMs: window.utmpDashboard.readyMs, count: document.querySelector(".count").textContent,
             rows: document.querySelectorAll("main tbody tr:not(.spacer)").length,
             transfer: performance.getEntriesByType("resource")
               .filter((r) => r.name.includes("/v1/fleet/sessions") || r.name.includes("/v1/hosts"))
               .map((r) => `${new URL(r.name).pathname} ${(r.decodedBodySize / 1e6).toFixed(1)} MB in ${r.duration.toFixed(0)} ms`),
             domMs: nav.domContentLoadedEventEnd };
  });
  console.log(`${what}: drawn ${result.readyMs.toFixed(0)} ms after the navigation began ` +
              `(goal: usable within 1,000 ms); "${result.count}", ${result.rows} rows in the DOM ` +
              `(virtualized); ${result.transfer.join(", ")}`);
  if (!(parseInt(result.count, 10) >= Number(count))) console.log(`  (expected at least ${count})`);
}

// The first page of a browser just started (its renderer and network cold), then the page
// loaded again, as in a browser that runs already.
await load("now", `Who is on, ${sessionsWanted}+ sessions, first page of a new browser`, sessionsWanted);
await load("now", `Who is on, loaded again`, sessionsWanted);
await load("hosts", `Hosts, ${hostsWanted} hosts`, hostsWanted);
await load("hosts", `Hosts, loaded again`, hostsWanted);

// Responsiveness under the event stream, with a viewer scrolling and typing.
await page.goto("about:blank");
await page.goto(`${url}/#/now`);
await page.waitForFunction(() => window.utmpDashboard && window.utmpDashboard.ready, null,
                           { timeout: 60000 });
await page.evaluate(() => {
  const m = { frames: [], long: [], events0: 0, last: performance.now(), stop: false };
  window.benchMeasure = m;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) m.long.push(e.duration);
  }).observe({ type: "longtask", buffered: false });
  const tick = (t) => {
    m.frames.push(t - m.last);
    m.last = t;
    if (!m.stop) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  // Events the page took in: each changes the sessions' version.
  m.version0 = window.utmpDashboard.state.version;
});
const until = Date.now() + Number(seconds) * 1000;
let typed = 0;
while (Date.now() < until) {
  await page.mouse.move(640, 400);
  await page.mouse.wheel(0, 1200);
  await page.waitForTimeout(200);
  if (++typed % 10 === 0) {
    await page.fill("#user-filter", typed % 20 === 0 ? "" : "open1");
  }
}
const m = await page.evaluate(() => {
  const b = window.benchMeasure;
  b.stop = true;
  return { frames: b.frames.slice(1), long: b.long,
           events: window.utmpDashboard.state.version - b.version0 };
});
const sorted = [...m.frames].sort((a, b) => a - b);
const pct = (p) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
const over50 = m.frames.filter((f) => f > 50).length;
console.log(`under ${(m.events / Number(seconds)).toFixed(0)} session changes a second, scrolling and ` +
            `filtering for ${seconds} s: ${m.frames.length} frames, interval p50 ${pct(50).toFixed(1)} ms, ` +
            `p99 ${pct(99).toFixed(1)} ms, max ${sorted[sorted.length - 1].toFixed(1)} ms; ` +
            `${over50} frame(s) over 50 ms (goal: none); long tasks ${m.long.length}, ` +
            `longest ${m.long.length ? Math.max(...m.long).toFixed(0) : 0} ms`);
await browser.close();
