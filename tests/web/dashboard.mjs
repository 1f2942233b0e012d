// The dashboard in Debian's chromium, driven by playwright-core (dashboard_test.sh sets up the
// fleet and runs this in the fleet's network namespace). Every step asserts what a viewer would
// see; any console error, page error, dialog or request to another origin fails the run.
import { chromium } from "playwright-core";
import { readFileSync, appendFileSync, writeFileSync } from "node:fs";
import { execFileSync, spawn } from "node:child_process";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const tmp = process.env.DASH_TMP;
const artifacts = process.env.DASH_ARTIFACTS;
const FLEET = "http://127.0.0.1:430";
const HOSTILE = "<img src=x onerror=alert(1)>";

let failures = 0;
function check(ok, what) {
  if (ok) {
    console.log(`ok: ${what}`);
  } else {
    console.log(`FAIL: ${what}`);
    ++failures;
  }
}
function fatal(what) {
  console.log(`FAIL: ${what}`);
  process.exit(1);
}

// ---- The hosts' records ----------------------------------------------------------------------

function utmpdumpLine(type, pid, tty, user, addr, whenS) {
  const ts = new Date(whenS * 1000).toISOString().replace(/\.\d+Z$/, ",000000+00:00");
  const id = tty.replace(/^pts\//, "").slice(0, 4).padEnd(4);
  return `[${type}] [${String(pid).padStart(5, "0")}] [${id}] [${user.padEnd(8)}] ` +
         `[${tty.padEnd(12)}] [${addr.padEnd(20)}] [${addr.padEnd(15)}] [${ts}]\n`;
}
function append(host, file, ...record) {
  const bytes = execFileSync("utmpdump", ["-r"], { input: utmpdumpLine(...record),
                                                   stdio: ["pipe", "pipe", "ignore"] });
  appendFileSync(`${tmp}/h${host}/${file}`, bytes);
}
const leaders = [];
function leader() {
  const child = spawn("sleep", ["600"], { stdio: "ignore" });
  leaders.push(child);
  return child.pid;
}
const nowS = () => Math.floor(Date.now() / 1000);

async function api(path, token) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const response = await fetch(FLEET + path, { headers });
  return response.json();
}

// ---- The browser -----------------------------------------------------------------------------

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium",
                                        args: ["--no-sandbox"] });
const errors = [];
const foreign = [];
const dialogs = [];
const requests = [];
const streams = [];  // the event streams' requests: [path, Last-Event-ID]
let outage = false;  // while utmpsd is down on purpose, failed requests are expected

function watch(page) {
  page.on("console", (m) => {
    if (m.type() === "error" && !outage) errors.push(`${page.url()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => errors.push(`${page.url()}: ${e.message}`));
  page.on("dialog", (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  page.on("request", (r) => {
    const url = new URL(r.url());
    requests.push(url.pathname);
    if (url.pathname.endsWith("/events")) {
      r.allHeaders().then((h) => streams.push([url.pathname, h["last-event-id"] ?? null]),
                          () => {});
    }
    if (r.isNavigationRequest()) return;  // the test's own page.goto
    const origin = new URL(page.url()).origin;
    if (url.origin !== origin && url.protocol !== "data:") foreign.push(r.url());
  });
}

async function newPage(options = {}) {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 720 }, locale: "en-US", timezoneId: "America/New_York",
    ...options });
  const page = await context.newPage();
  watch(page);
  return page;
}

async function ready(page) {
  await page.waitForFunction(() => window.utmpDashboard && window.utmpDashboard.ready,
                             null, { timeout: 20000 });
}

async function shot(page, name) {
  await page.screenshot({ path: `${artifacts}/${name}.png`, fullPage: false });
}

// axe-core on the page as it is: no serious or critical violation.
async function accessible(page, what) {
  await page.evaluate(axeSource);
  const found = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ["violations"] });
    return result.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
  });
  check(found.length === 0, `axe-core, ${what}: no serious or critical violation` +
                            (found.length ? `: ${found.join("; ")}` : ""));
}

const link = (page, name) => page.locator("main a", { hasText: name }).filter({
  has: page.locator(`xpath=self::*[normalize-space(.)=${JSON.stringify(name)}]`) });
async function rowsOf(page) {
  return page.evaluate(() => [...document.querySelectorAll("main tbody tr:not(.spacer)")]
    .map((tr) => [...tr.cells].map((td) => td.textContent)));
}

const page = await newPage();
await page.goto(`${FLEET}/`);
await ready(page);

// ---- Hosts ----
await page.waitForFunction(() => document.querySelectorAll("main tbody tr:not(.spacer)").length === 2);
// (The hosts may be drawn before the sessions arrive: then their counts follow.)
await page.waitForFunction(() => [...document.querySelectorAll("main tbody tr:not(.spacer)")]
  .every((tr) => tr.cells[4].textContent !== "0"), null, { timeout: 5000 }).catch(() => {});
let rows = await rowsOf(page);
check(rows.map((r) => r[0]).join(",") === "h1,h2", `the hosts are listed: ${JSON.stringify(rows)}`);
check(rows.every((r) => r[1] === "up"), "both hosts are up");
check(rows.every((r) => r[3] === "2" && r[4] === "2"), `users and sessions on each host: ${rows.map((r) => r.slice(3, 5))}`);
await page.waitForFunction(() => [...document.querySelectorAll("main tbody tr")]
  .every((tr) => tr.classList.contains("spacer") || tr.cells[5].textContent !== "—"), null, { timeout: 10000 })
  .catch(() => {});
rows = await rowsOf(page);
check(rows.every((r) => /^\d+\.\d\d \d+\.\d\d \d+\.\d\d$/.test(r[5])), `each host's load, asked of it: ${rows.map((r) => r[5])}`);
const time = page.locator("main time").first();
const title = await time.getAttribute("title");
const datetime = await time.getAttribute("datetime");
const local = new Intl.DateTimeFormat("en-US", { year: "numeric", month: "short", day: "numeric",
  hour: "2-digit", minute: "2-digit", timeZone: "America/New_York" }).format(new Date(datetime));
check(/ UTC$/.test(title) && (await time.textContent()) === local,
      `times in the viewer's zone (${await time.textContent()}), UTC on hover (${title})`);
await page.locator("main th button", { hasText: "Host" }).click();
rows = await rowsOf(page);
check(rows[0][0] === "h2", "a click on Host sorts the hosts the other way");
await shot(page, "hosts");
await accessible(page, "hosts");

// ---- Who is on now ----
await page.goto(`${FLEET}/#/now`);
await page.waitForFunction(() => document.querySelectorAll("main tbody tr:not(.spacer)").length === 4);
rows = await rowsOf(page);
check(rows.map((r) => r[0]).sort().join(",") === ["admin1", "admin2", "erin", HOSTILE].sort().join(","),
      `the open sessions: ${rows.map((r) => r[0])}`);
check(await page.evaluate(() => document.querySelectorAll("img").length) === 0 &&
      rows.some((r) => r[0] === HOSTILE),
      "a user named <img src=x onerror=alert(1)> shows as those characters, and no image is made");
await shot(page, "now");
await accessible(page, "who is on now");

// A login written on a host appears live, and its logout removes it.
const alicePid = leader();
let t0 = Date.now();
append(1, "wtmp", 7, alicePid, "pts/9", "alice", "192.0.2.50", nowS());
await link(page, "alice").waitFor({ timeout: 10000 });
const loginMs = Date.now() - t0;
check(loginMs <= 1000, `a login on h1 appears in the live table in ${loginMs} ms (goal: within 1 s)`);
rows = await rowsOf(page);
const alice = rows.find((r) => r[0] === "alice");
check(alice && alice[1] === "h1" && alice[2] === "pts/9" && alice[3] === "192.0.2.50",
      `alice's row: ${JSON.stringify(alice)}`);
t0 = Date.now();
append(1, "wtmp", 8, alicePid, "pts/9", "", "", nowS());
await link(page, "alice").waitFor({ state: "detached", timeout: 10000 });
const logoutMs = Date.now() - t0;
check(logoutMs <= 1000, `its logout removes it in ${logoutMs} ms`);

// Filters, as you type.
await page.fill("#user-filter", "adm");
rows = await rowsOf(page);
check(rows.map((r) => r[0]).sort().join(",") === "admin1,admin2", `user filter "adm": ${rows.map((r) => r[0])}`);
await page.fill("#host-filter", "h2");
rows = await rowsOf(page);
check(rows.length === 1 && rows[0][0] === "admin2", `and host filter "h2": ${rows.map((r) => r[0])}`);
await page.fill("#user-filter", "");
await page.fill("#host-filter", "");

// utmpsd killed and started again: the stream resumes (Last-Event-ID) and what happened
// meanwhile appears, without a reload. The page's reconnections are held off until the login
// made meanwhile is stored, so that a stream started anew ("now") would not carry it, and the
// sessions are not read again.
outage = true;
await page.route("**/v1/fleet/events*", (route) => route.abort());
const sdPid = Number(readFileSync(`${tmp}/sd.pid`, "utf8"));
process.kill(sdPid, "SIGKILL");
await page.waitForFunction(() => !document.getElementById("live").classList.contains("on"),
                           null, { timeout: 10000 });
const frankPid = leader();
append(2, "wtmp", 7, frankPid, "pts/8", "frank", "192.0.2.51", nowS());
const [command, ...args] = process.env.DASH_START_SD.split(" ");
const sd = spawn(command, args, { stdio: ["ignore", "ignore", "ignore"], detached: true });
writeFileSync(`${tmp}/sd.pid`, String(sd.pid));
sd.unref();
let stored = false;
for (let i = 0; i < 300 && !stored; ++i) {
  await new Promise((r) => setTimeout(r, 100));
  try {
    stored = (await api("/v1/fleet/sessions?user=frank")).sessions.length === 1;
  } catch (_) { /* not up yet */ }
}
check(stored, "frank's login, made while utmpsd was down, is stored once it is up again");
const sessionsAsked = requests.filter((p) => p === "/v1/fleet/sessions").length;
streams.length = 0;
await page.unroute("**/v1/fleet/events*");
await link(page, "frank").waitFor({ timeout: 30000 });
await page.waitForFunction(() => document.getElementById("live").classList.contains("on"));
check(streams.some(([, id]) => id !== null && /^\d+$/.test(id)) &&
      requests.filter((p) => p === "/v1/fleet/sessions").length === sessionsAsked,
      `after utmpsd restarted the stream resumed from Last-Event-ID ${JSON.stringify(streams)} ` +
      "and brought the login made meanwhile, without reading the sessions again");
await new Promise((r) => setTimeout(r, 1500));
outage = false;

// A host cut off shows as down.
execFileSync("ip", ["link", "set", process.env.DASH_LINK2, "down"]);
await page.goto(`${FLEET}/#/hosts`);
await ready(page);
await page.waitForFunction(() => {
  const row = [...document.querySelectorAll("main tbody tr:not(.spacer)")]
    .find((tr) => tr.cells[0].textContent === "h2");
  return row && row.cells[1].textContent.startsWith("down");
}, null, { timeout: 30000 }).then(() => check(true, "h2, cut off, shows as down"),
                                  () => check(false, "h2, cut off, shows as down"));
await shot(page, "hosts-down");
execFileSync("ip", ["link", "set", process.env.DASH_LINK2, "up"]);

// ---- The timeline ----
await page.goto(`${FLEET}/#/timeline`);
await page.waitForSelector("#timeline-chart svg", { timeout: 20000 });
const history = await api(`/v1/fleet/history?since=${nowS() - 2 * 86400}&limit=1000`);
const to = Date.now() * 1000;
const from = to - 86400e6;
const given = history.sessions.filter((s) => s.type === "login" &&
  (s.logout_time_us ?? to) >= from && s.login_time_us < to);
const byEnd = (end) => given.filter((s) => s.end === end).length;
const bars = await page.evaluate(() => {
  const count = (selector) => document.querySelectorAll(`#timeline-chart ${selector}`).length;
  return { all: count("rect.bar"), crash: count("rect.bar.end-crash"), down: count("rect.bar.end-down"),
           still: count("rect.bar.end-still"), crashMarks: count("rect.mark-crash"),
           downMarks: count("rect.mark-down"), boots: count("line.boot") };
});
check(bars.all === given.length && given.length >= 16,
      `the timeline draws the ${given.length} sessions of the last day the history gives: ${bars.all} bars`);
check(bars.crash === byEnd("crash") && bars.crashMarks === byEnd("crash") && byEnd("crash") === 2,
      `crashes marked: ${bars.crashMarks} of ${byEnd("crash")}`);
check(bars.down === byEnd("down") && bars.downMarks === byEnd("down") && byEnd("down") === 2,
      `shutdowns marked: ${bars.downMarks} of ${byEnd("down")}`);
check(bars.still === byEnd("still"), `open sessions drawn to now: ${bars.still} of ${byEnd("still")}`);
check(bars.boots === 6, `each host's boots of the day drawn on its row: ${bars.boots}`);
check((await page.locator("#failed-chart").textContent()).includes("needs the full tier"),
      "failed logins at the history tier: says a token is needed");
await page.selectOption("#timeline-group", "user");
const labels = await page.evaluate(() => [...document.querySelectorAll("#timeline-chart text.rowlabel title")].map((t) => t.textContent));
check(["ann", "bob", "carol", "dave", "admin1", "admin2"].every((u) => labels.includes(u)),
      `per user: ${labels}`);
await shot(page, "timeline");
await accessible(page, "timeline");

// A token presented in the page: the failed logins appear.
await page.click("#token-button");
await shot(page, "token-dialog");
await page.fill("#token-input", "viewer-token");
await Promise.all([page.waitForEvent("load"), page.click("#token-form button[type=submit]")]);
await ready(page);
await page.waitForSelector("#failed-chart svg", { timeout: 20000 });
const failedLabel = await page.locator("#failed-chart svg").getAttribute("aria-label");
check(failedLabel === "Failed logins per hour: 10 in all", `with the token: ${failedLabel}`);
check((await page.textContent("#token-button")) === "Token (full)", "the page says the token's tier");
await shot(page, "timeline-full");

// ---- A user's page ----
await page.goto(`${FLEET}/#/user/ann`);
await page.waitForSelector("#timeline-chart svg", { timeout: 20000 });
check((await page.textContent("#user-count")) === "Not logged in anywhere now.", "ann is on nowhere now");
check(await page.locator("#timeline-chart rect.bar").count() === 8, "ann's 8 sessions across both hosts");
await page.goto(`${FLEET}/#/user/admin2`);
await page.waitForSelector("#timeline-chart svg", { timeout: 20000 });
check((await page.textContent("#user-count")) === "1 session on 1 host", "admin2: 1 session on 1 host");
await shot(page, "user");
await accessible(page, "a user's page");

// ---- Keyboard, phone width, dark ----
const keys = await newPage();
await keys.goto(`${FLEET}/`);
await ready(keys);
let reached = false;
for (let i = 0; i < 15 && !reached; ++i) {
  await keys.keyboard.press("Tab");
  reached = await keys.evaluate(() => document.activeElement.textContent === "Timeline");
}
await keys.keyboard.press("Enter");
await keys.waitForSelector("#timeline-chart", { timeout: 5000 }).catch(() => {});
check(reached && (await keys.evaluate(() => location.hash)) === "#/timeline",
      "the views are reached with the keyboard (Tab, Enter)");
const phone = await newPage({ viewport: { width: 390, height: 844 } });
await phone.goto(`${FLEET}/#/now`);
await ready(phone);
await phone.waitForSelector("main tbody tr:not(.spacer)");
const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
check(overflow <= 0, `at phone width the page does not scroll sideways (the table does): ${overflow}px`);
await shot(phone, "now-phone");
const dark = await newPage({ colorScheme: "dark" });
await dark.goto(`${FLEET}/#/hosts`);
await ready(dark);
await dark.waitForSelector("main tbody tr:not(.spacer)");
const background = await dark.evaluate(() => getComputedStyle(document.body).backgroundColor);
check(background === "rgb(13, 17, 23)", `dark when the system is: ${background}`);
await shot(dark, "hosts-dark");
await accessible(dark, "hosts, dark");
await dark.goto(`${FLEET}/#/now`);
await dark.waitForSelector("main tbody tr:not(.spacer)");
await accessible(dark, "who is on now, dark");

// ---- One host's own page (utmpcd), and an empty fleet ----
const host = await newPage();
await host.goto("http://10.81.1.2:431/");
await ready(host);
await host.waitForFunction(() => document.querySelectorAll("main tbody tr:not(.spacer)").length >= 2);
rows = await rowsOf(host);
check(["admin1", "erin"].every((u) => rows.some((r) => r[0] === u)), `h1's own page: who is on: ${rows.map((r) => r[0])}`);
await shot(host, "host-now");
await host.goto("http://10.81.1.2:431/#/hosts");
await host.waitForSelector(".card");
check((await host.locator(".card").count()) === 6, "h1's own page: its summary (up, load, users, sessions, boot)");
await shot(host, "host-summary");
await accessible(host, "a host's own page");
await host.goto("http://10.81.1.2:431/#/timeline");
await host.waitForSelector("#timeline-chart svg", { timeout: 20000 });
check(await host.locator("#timeline-chart rect.bar").count() >= 8, "h1's own timeline");

const empty = await newPage();
await empty.goto("http://127.0.0.1:4300/");
await ready(empty);
await empty.waitForSelector("main .empty");
check((await empty.textContent("main")).includes("No hosts yet: add them to /etc/utmpsd/hosts"),
      "an empty fleet says what to do");
await shot(empty, "empty");

// ---- A wrong token: the page still loads, says so, and forgets it ----
const wrong = await newPage();
await wrong.goto(`${FLEET}/#/now`);
await ready(wrong);
await wrong.click("#token-button");
await wrong.fill("#token-input", "not-a-token");
outage = true;  // (the 401 answers are expected here)
await Promise.all([wrong.waitForEvent("load"), wrong.click("#token-form button[type=submit]")]);
await ready(wrong);
const said = await wrong.textContent("main");
check(said.includes("no token this host knows"), `a wrong token: the page says so: ${said.slice(0, 120)}`);
await Promise.all([wrong.waitForEvent("load"), wrong.click("#forget-token")]);
await ready(wrong);
outage = false;
await wrong.waitForSelector("main tbody tr:not(.spacer)", { timeout: 10000 });
check(true, "forgotten, the page shows the sessions again");

// ---- Without the Content-Security-Policy, the hostile name still runs nothing: it is text ----
const unguarded = await newPage({ bypassCSP: true });
for (const view of ["#/now", "#/timeline?by=user", "#/user/" + encodeURIComponent(HOSTILE)]) {
  await unguarded.goto(`${FLEET}/${view}`);
  await ready(unguarded);
  await unguarded.waitForFunction((name) => document.querySelector("main").textContent.includes(name),
                                  HOSTILE, { timeout: 10000 }).catch(() => {});
  const seen = await unguarded.evaluate((name) => ({
    text: document.querySelector("main").textContent.includes(name),
    images: document.querySelectorAll("img").length }), HOSTILE);
  check(seen.text && seen.images === 0,
        `without the CSP, ${view} shows the hostile name as text and makes no image`);
}

// ---- Nothing ran that should not have ----
check(errors.length === 0, `no console or page error${errors.length ? ": " + errors.join(" | ") : ""}`);
check(dialogs.length === 0, `no dialog (alert) opened, even without the CSP${dialogs.length ? ": " + dialogs.join(" | ") : ""}`);
check(foreign.length === 0, `no request to another origin${foreign.length ? ": " + foreign.join(" ") : ""}`);
check(!requests.includes("/x"), "no request for the hostile name's image (/x)");

for (const child of leaders) child.kill();
await browser.close();
if (failures) fatal(`${failures} check(s) failed`);
console.log("ok: all checks passed");
