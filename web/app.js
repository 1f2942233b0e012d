// The utmpcd dashboard (docs/DASHBOARD.md). One page, served by utmpsd (the fleet) and by
// utmpcd (its one host), reading the same API a client does, with the viewer's credential:
// what it shows is what the viewer's tier allows. Every text from a login record goes into the
// page as text (textContent, SVG <title> text), never as HTML.
"use strict";

(() => {
  // ---- Where the data comes from ----------------------------------------------------------

  const FLEET = {
    sessions: "/v1/fleet/sessions", history: "/v1/fleet/history", failed: "/v1/fleet/failed",
    events: "/v1/fleet/events",
  };
  const HOST = {
    sessions: "/v1/sessions", history: "/v1/history", failed: "/v1/failed", events: "/v1/events",
  };

  const state = {
    mode: null,          // "fleet" (utmpsd) or "host" (utmpcd)
    tier: "summary",     // the viewer's, as GET /v1/access says
    api: null,           // FLEET or HOST
    hostName: "",        // host mode: the host's name
    hosts: new Map(),    // name -> host row
    hostsLoaded: false,
    hostsError: null,
    byHost: new Map(),   // hostname -> Map tty -> open session
    sessionCount: 0,
    userCounts: new Map(), // user -> open sessions
    // The sessions added or removed since logBase (a removed one has .removed set): the
    // table of who is on catches up from here instead of sorting 100,000 sessions again.
    log: [],
    logBase: 0,
    sessionsLoaded: false,
    sessionsError: null,
    version: 0,          // bumped when the sessions change
    live: false,
    summaries: new Map(),// fleet: hostname -> {at, summary} from /v1/fleet/host
  };

  const TIERS = ["summary", "sessions", "history", "full"];
  // Whether the viewer's tier (GET /v1/access) is at least `tier`.
  function allows(tier) { return TIERS.indexOf(state.tier) >= TIERS.indexOf(tier); }
  // An error that says what a tier too low leaves out, without asking the server.
  function tooLow(tier) {
    return new HttpError(403, `this needs the ${tier} tier, and this server gives you ` +
                              `${state.tier}`);
  }

  class HttpError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  async function getJSON(path) {
    const response = await fetch(path, { credentials: "same-origin",
                                         headers: { Accept: "application/json" } });
    let body = null;
    try { body = await response.json(); } catch (_) { body = null; }
    if (!response.ok) {
      const message = body && body.error && body.error.message ? body.error.message
                                                                 : `HTTP ${response.status}`;
      throw new HttpError(response.status, message);
    }
    return body;
  }

  // Pages of /v1/…/history or /failed since `since` (µs), newest first, at most `pages`.
  async function getPaged(path, key, params, pages) {
    const rows = [];
    let cursor = null;
    let truncated = false;
    for (let page = 0; ; ++page) {
      if (page === pages) { truncated = true; break; }
      const q = new URLSearchParams(params);
      q.set("limit", "1000");
      if (cursor) q.set("cursor", cursor);
      const body = await getJSON(`${path}?${q}`);
      for (const row of body[key]) rows.push(row);
      cursor = body.next_cursor;
      if (!cursor) break;
    }
    return { rows, truncated };
  }

  // ---- Text and times ---------------------------------------------------------------------

  // Control characters shown as escapes, as utmpc shows them on a terminal.
  function printable(text) {
    if (text === null || text === undefined) return "";
    return String(text).replace(/[\u0000-\u001f\u007f-\u009f]/g,
      (c) => "\\x" + c.charCodeAt(0).toString(16).padStart(2, "0"));
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    if (attrs) {
      for (const [name, value] of Object.entries(attrs)) {
        if (value === null || value === undefined || value === false) continue;
        if (name === "text") node.textContent = value;
        else if (name === "className") node.className = value;
        else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
        else node.setAttribute(name, value === true ? "" : value);
      }
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  const SVG_NS = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === "text") node.textContent = value;
      else node.setAttribute(name, value);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  const dateTime = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  const hourMinute = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
  const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric" });

  function utc(us) {
    return new Date(us / 1000).toISOString().replace(/\.\d+Z$/, "").replace("T", " ") + " UTC";
  }

  // A time in the viewer's zone, UTC on hover.
  function timeNode(us) {
    if (us === null || us === undefined) return el("span", { text: "—" });
    const date = new Date(us / 1000);
    return el("time", { datetime: date.toISOString(), title: utc(us),
                        text: dateTime.format(date) });
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    const s = Math.max(0, Math.floor(seconds));
    if (s < 60) return `${s}s`;
    if (s < 3600) return `${Math.floor(s / 60)}m`;
    if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
    return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
  }

  function nowUs() { return Date.now() * 1000; }

  // ---- Notices, the live indicator, the token ---------------------------------------------

  function notice(message) {
    const box = document.getElementById("notice");
    box.hidden = !message;
    box.textContent = message || "";
  }

  function setLive(text, on) {
    const live = document.getElementById("live");
    live.textContent = text;
    live.className = "live " + (on ? "on" : "off");
  }

  function openTokenDialog() {
    const dialog = document.getElementById("token-dialog");
    document.getElementById("token-input").value = "";
    dialog.showModal();
  }

  function setTokenCookie(token) {
    const secure = location.protocol === "https:" ? "; Secure" : "";
    if (token) {
      document.cookie = `utmp_token=${encodeURIComponent(token)}; path=/; SameSite=Strict${secure}`;
    } else {
      document.cookie = `utmp_token=; path=/; max-age=0; SameSite=Strict${secure}`;
    }
    location.reload();
  }

  function setUpToken() {
    const dialog = document.getElementById("token-dialog");
    document.getElementById("token-button").addEventListener("click", openTokenDialog);
    document.getElementById("token-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const token = document.getElementById("token-input").value.trim();
      dialog.close();
      if (token) setTokenCookie(token);
    });
    document.getElementById("token-forget").addEventListener("click", () => {
      dialog.close();
      setTokenCookie("");
    });
    document.getElementById("token-cancel").addEventListener("click", () => dialog.close());
  }

  // What to say where a request was refused for the viewer's tier.
  function refusal(error, what) {
    const box = el("div", { className: "empty" });
    if (error instanceof HttpError && (error.status === 401 || error.status === 403)) {
      box.append(el("p", { text: `${what} need${what.endsWith("s") ? "" : "s"} more than ` +
                                 `this server gives you: ${error.message}` }),
                 el("button", { type: "button", onclick: openTokenDialog,
                                text: "Present a token" }));
    } else {
      box.append(el("p", { className: "error", text: `${what}: ${error.message}` }));
    }
    return box;
  }

  // ---- The hosts --------------------------------------------------------------------------

  async function loadHosts() {
    try {
      if (state.mode === "fleet") {
        const body = await getJSON("/v1/hosts");
        const seen = new Set();
        for (const h of body.hosts) {
          seen.add(h.name);
          const row = state.hosts.get(h.name) || { name: h.name };
          Object.assign(row, {
            state: h.state, since_us: h.since_us, problem: h.problem, groups: h.groups || [],
            last_event_us: h.last_event_us, lag_ms: h.lag_ms, followed_by: h.followed_by,
          });
          state.hosts.set(h.name, row);
        }
        for (const name of [...state.hosts.keys()]) if (!seen.has(name)) state.hosts.delete(name);
      } else {
        const h = await getJSON("/v1/host");
        state.hostName = h.hostname;
        state.hosts.set(h.hostname, {
          name: h.hostname, state: "up", since_us: h.boot_time_us, problem: null, groups: [],
          boot_us: h.boot_time_us, load: h.load, users_reported: h.users,
          sessions_reported: h.sessions, version: h.version, uptime_s: h.uptime_s,
        });
      }
      state.hostsLoaded = true;
      state.hostsError = null;
    } catch (error) {
      state.hostsError = error;
    }
    refresh();
  }

  // Load and boot time are no events: the fleet asks a host for them, for the rows on screen.
  let summaryRequests = 0;
  function wantSummaries(rows) {
    if (state.mode !== "fleet") return;
    const now = Date.now();
    for (const row of rows) {
      if (summaryRequests >= 4) return;
      if (row.state !== "up") continue;
      const known = state.summaries.get(row.name);
      if (known && now - known.at < 60000) continue;
      state.summaries.set(row.name, { at: now, summary: known ? known.summary : null });
      ++summaryRequests;
      getJSON(`/v1/fleet/host?host=${encodeURIComponent(row.name)}`)
        .then((summary) => {
          state.summaries.set(row.name, { at: Date.now(), summary });
          row.load = summary.load;
          row.boot_us = summary.boot_time_us;
        })
        .catch(() => {})
        .finally(() => { --summaryRequests; scheduleRender(); });
    }
  }

  // Users and sessions on each host, counted from the open sessions.
  function countSessions() {
    for (const row of state.hosts.values()) {
      const lines = state.byHost.get(row.name);
      row.sessions = lines ? lines.size : 0;
      if (!lines || lines.size < 2) {
        row.users = row.sessions;
        continue;
      }
      const users = new Set();
      for (const s of lines.values()) users.add(s.user);
      row.users = users.size;
    }
  }

  // ---- The open sessions, kept live by the event stream -----------------------------------

  function forEachSession(fn) {
    for (const lines of state.byHost.values()) for (const s of lines.values()) fn(s);
  }

  function countUser(user, delta) {
    const n = (state.userCounts.get(user) || 0) + delta;
    if (n > 0) state.userCounts.set(user, n);
    else state.userCounts.delete(user);
  }

  function dropSession(s) {
    s.removed = true;
    --state.sessionCount;
    countUser(s.user, -1);
    state.log.push(s);
  }

  function addSession(s) {
    s.userLower = String(s.user).toLowerCase();
    s.hostLower = s.hostname.toLowerCase();
    let lines = state.byHost.get(s.hostname);
    if (!lines) state.byHost.set(s.hostname, lines = new Map());
    const old = lines.get(s.tty);
    if (old) dropSession(old);
    lines.set(s.tty, s);
    ++state.sessionCount;
    countUser(s.user, 1);
    state.log.push(s);
  }

  function removeSession(host, tty) {
    const lines = state.byHost.get(host);
    const s = lines && lines.get(tty);
    if (!s) return;
    lines.delete(tty);
    dropSession(s);
  }

  function removeHostSessions(host) {
    const lines = state.byHost.get(host);
    if (!lines) return;
    for (const s of lines.values()) dropSession(s);
    state.byHost.delete(host);
  }

  // Asks for the open sessions; `generation` says whether the answer is still wanted when it
  // arrives (a newer request may have been made meanwhile: its answer wins).
  async function loadSessions(generation) {
    let body = null;
    let failure = null;
    try {
      if (!allows("sessions")) throw tooLow("sessions");
      // (The fleet's default is 100,000 sessions; the page takes them all.)
      performance.mark("sessions-asked");
      // (The fleet's sessions as rows, not objects: half the bytes to read for 100,000.)
      body = await getJSON(state.api.sessions +
                           (state.mode === "fleet" ? "?limit=1000000&form=rows" : ""));
      performance.mark("sessions-parsed");
    } catch (error) {
      failure = error;
    }
    if (generation !== loadGeneration) return false;
    if (failure) {
      state.sessionsError = failure;
    } else {
      state.byHost.clear();
      state.userCounts.clear();
      state.sessionCount = 0;
      const now = Date.now();
      if (body.rows) {
        const c = Object.fromEntries(body.columns.map((name, i) => [name, i]));
        for (const r of body.rows) {
          const one = { hostname: r[c.hostname], user: r[c.user], tty: r[c.tty], host: r[c.host],
                        addr: r[c.addr], pid: r[c.pid], login_us: r[c.login_time_us],
                        idle_s: r[c.idle_s], idle_at: now };
          if (r[c.hex]) Object.assign(one, r[c.hex]);  // user_hex, tty_hex, host_hex
          addSession(one);
        }
      } else {
        for (const row of body.sessions) {
          // The rows as they came, with what the page adds.
          if (!row.hostname) row.hostname = state.hostName;
          row.login_us = row.login_time_us;
          row.idle_at = now;
          addSession(row);
        }
      }
      // Every view reads them anew.
      state.logBase += state.log.length + 1;
      state.log = [];
      performance.mark("sessions-kept");
      state.sessionsLoaded = true;
      state.sessionsError = null;
      state.truncated = !!body.truncated;
    }
    ++state.version;
    return true;
  }

  // As the fleet store pairs them: a login opens its line (ending the one before), a logout or
  // a gone process ends it, a boot or a shutdown ends every session of its host.
  function applyEvent(e) {
    const host = e.hostname || state.hostName;
    switch (e.kind) {
      case "login":
        addSession({ hostname: host, user: e.user, tty: e.tty, host: e.host, addr: e.addr,
                     pid: e.pid, login_us: e.time_us, idle_s: null, idle_at: Date.now() });
        break;
      case "logout":
      case "gone":
        removeSession(host, e.tty);
        break;
      case "boot":
      case "shutdown":
        removeHostSessions(host);
        break;
      default:
        return;
    }
    ++state.version;
  }

  let pending = [];      // events that arrived, applied once a frame
  let buffering = true;  // while the sessions are being read: events wait
  let loadGeneration = 0;
  let firstLoaded = null;
  const sessionsRead = new Promise((resolve) => { firstLoaded = resolve; });

  function onEvent(message) {
    let e;
    try { e = JSON.parse(message.data); } catch (_) { return; }
    pending.push(e);
    // A hidden tab draws no frames: rather than keep every event, it reads the sessions anew
    // when it is looked at again.
    if (pending.length > 50000 && !buffering) {
      pending = [];
      stale = true;
    }
    if (!buffering) scheduleApply();
  }

  let applyQueued = false;
  let stale = false;
  function scheduleApply() {
    if (applyQueued) return;
    applyQueued = true;
    requestAnimationFrame(() => {
      applyQueued = false;
      if (stale) {
        stale = false;
        resync();
        return;
      }
      const events = pending;
      pending = [];
      for (const e of events) applyEvent(e);
      // Nobody reads the log while the table of who is on is not shown.
      if (state.log.length > 50000) {
        state.logBase += state.log.length;
        state.log = [];
      }
      if (events.length) scheduleRender();
    });
  }

  // An EventSource resumes by itself (Last-Event-ID) after a dropped connection: nothing is
  // missed or applied twice. A new one (the first, or after the server refused one and the
  // browser gave up) starts at "now": once it is open, the sessions are read anew, so that no
  // event falls between the two.
  function openStream() {
    const source = new EventSource(state.api.events, { withCredentials: true });
    buffering = true;
    let opened = false;
    for (const kind of ["login", "logout", "gone", "boot", "shutdown", "failed", "runlevel",
                        "clock"]) {
      source.addEventListener(kind, onEvent);
    }
    // The server skipped events (a history replaced, retention deleted some): read anew.
    source.addEventListener("reset", () => { resync(); });
    source.addEventListener("gap", () => { resync(); });
    source.addEventListener("open", () => {
      setLive("live", true);
      if (!opened) {
        opened = true;
        resync();
      }
    });
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED) {
        setLive("stream refused; retrying", false);
        // Meanwhile the sessions as they are (the next stream reads them again).
        if (!state.sessionsLoaded) resync();
        setTimeout(openStream, 5000);
      } else {
        setLive("reconnecting…", false);
      }
    });
  }

  // The open sessions read anew; the events that arrive meanwhile wait and are applied on
  // top (those before are in what the server answers). The last request made wins.
  async function resync() {
    const generation = ++loadGeneration;
    buffering = true;
    pending = [];
    if (!(await loadSessions(generation))) return;
    buffering = false;
    firstLoaded();
    scheduleApply();
    scheduleRender();
  }

  // ---- A table that draws only the rows on screen -----------------------------------------

  const ROW = 28;

  class VirtualTable {
    // columns: [{label, key (sort), className, cell(row) -> Node|string, width}]
    constructor(label, columns, sort, onSort, short) {
      this.columns = columns;
      this.rows = [];
      this.sort = sort;
      this.onSort = onSort;
      this.box = el("div", { className: short ? "vt short" : "vt", tabindex: "0",
                             role: "region", "aria-label": label });
      this.table = el("table", { "aria-rowcount": "1" });
      const colgroup = el("colgroup");
      const head = el("tr");
      for (const c of columns) {
        const col = el("col");
        if (c.width) col.style.width = c.width;
        colgroup.append(col);
        const th = el("th", { scope: "col", className: c.className });
        if (c.key) {
          th.append(el("button", { type: "button", text: c.label,
                                   onclick: () => this.sortBy(c.key) }));
        } else {
          th.textContent = c.label;
        }
        c.th = th;
        head.append(th);
      }
      this.table.append(el("caption", { className: "sr-only", text: label }), colgroup,
                        el("thead", null, head));
      this.body = el("tbody");
      this.table.append(this.body);
      this.box.append(this.table);
      this.box.addEventListener("scroll", () => this.draw(), { passive: true });
      this.markSort();
    }

    sortBy(key) {
      if (this.sort[0] === key) this.sort[1] = -this.sort[1];
      else this.sort = [key, 1];
      this.markSort();
      this.onSort(this.sort);
    }

    markSort() {
      for (const c of this.columns) {
        if (!c.key) continue;
        c.th.setAttribute("aria-sort", this.sort[0] !== c.key ? "none"
                          : this.sort[1] > 0 ? "ascending" : "descending");
      }
    }

    setRows(rows) {
      this.rows = rows;
      this.table.setAttribute("aria-rowcount", String(rows.length + 1));
      this.draw();
    }

    spacer(height) {
      const td = el("td", { colspan: String(this.columns.length) });
      td.style.height = `${height}px`;
      return el("tr", { className: "spacer", "aria-hidden": "true" }, td);
    }

    draw() {
      const height = this.box.clientHeight || 600;
      const first = Math.max(0, Math.floor(this.box.scrollTop / ROW) - 5);
      const last = Math.min(this.rows.length, first + Math.ceil(height / ROW) + 10);
      const parts = [];
      if (first > 0) parts.push(this.spacer(first * ROW));
      for (let i = first; i < last; ++i) {
        const row = this.rows[i];
        const tr = el("tr", { "aria-rowindex": String(i + 2) });
        for (const c of this.columns) {
          const cell = c.cell(row);
          const td = el("td", { className: c.className });
          if (cell instanceof Node) td.append(cell);
          else td.textContent = cell;
          tr.append(td);
        }
        parts.push(tr);
      }
      if (last < this.rows.length) parts.push(this.spacer((this.rows.length - last) * ROW));
      this.body.replaceChildren(...parts);
      this.visible = this.rows.slice(first, last);
      if (this.onDraw) this.onDraw(this.visible);
    }
  }

  function compare(key, direction) {
    return (a, b) => {
      const x = a[key], y = b[key];
      if (x === y) return 0;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : 1) * direction;
    };
  }

  // ---- Views ------------------------------------------------------------------------------

  const main = () => document.getElementById("main");
  let view = null;  // {name, render(), ...}

  function userLink(user) {
    return el("a", { href: `#/user/${encodeURIComponent(user)}`, text: printable(user) });
  }

  function hostLink(name) {
    return el("a", { href: `#/now?host=${encodeURIComponent(name)}`, text: printable(name) });
  }

  function stateCell(row) {
    return el("span", { className: `state-${row.state}`, title: row.problem || null,
                        text: row.state + (row.problem ? ` (${printable(row.problem)})` : "") });
  }

  function hostsView() {
    const node = main();
    const filter = el("input", { id: "host-filter", type: "search", autocomplete: "off",
                                 placeholder: "name or group" });
    const count = el("span", { className: "count", "aria-live": "polite" });
    let sort = ["name", 1];
    const table = new VirtualTable("Hosts", [
      { label: "Host", key: "name", cell: (r) => hostLink(r.name), width: "22%" },
      { label: "State", key: "state", cell: stateCell, width: "18%" },
      { label: "Since", key: "since_us", cell: (r) => timeNode(r.since_us), width: "16%" },
      // (Counted from the open sessions, which the summary tier does not get.)
      { label: "Users", key: "users", className: "num",
        cell: (r) => (allows("sessions") ? String(r.users ?? 0) : "—"), width: "7%" },
      { label: "Sessions", key: "sessions", className: "num",
        cell: (r) => (allows("sessions") ? String(r.sessions ?? 0) : "—"), width: "9%" },
      { label: "Load", key: "load1", className: "num",
        cell: (r) => (r.load ? r.load.map((x) => x.toFixed(2)).join(" ") : "—"), width: "12%" },
      { label: "Booted", key: "boot_us", cell: (r) => timeNode(r.boot_us), width: "16%" },
    ], sort, (s) => { sort = s; render(true); }, state.mode === "host");
    table.onDraw = wantSummaries;
    filter.addEventListener("input", () => render(true));

    const heading = el("h1", { text: state.mode === "fleet" ? "Hosts" : "This host" });
    const cards = el("div", { className: "cards" });
    const body = el("div", null, el("p", { className: "empty", text: "Loading the hosts…" }));
    node.replaceChildren(heading, cards,
                         el("div", { className: "toolbar" },
                            el("label", null, "Filter", filter), count),
                         body);

    let lastSort = 0;
    let seenBase = -1;
    function render(now) {
      // At once for a click, for what was typed, and when the sessions were read anew.
      if (now || seenBase !== state.logBase) lastSort = 0;
      seenBase = state.logBase;
      if (state.hostsError && !state.hostsLoaded) {
        body.replaceChildren(refusal(state.hostsError, "The hosts"));
        return;
      }
      if (!state.hostsLoaded) return;
      // Counting and sorting 10,000 hosts under a stream of events: at most twice a second.
      if (Date.now() - lastSort < 500) { scheduleRender(510); table.draw(); return; }
      lastSort = Date.now();
      countSessions();
      cards.replaceChildren();
      if (state.mode === "host") {
        const h = state.hosts.get(state.hostName);
        if (h) {
          const card = (label, value) => el("div", { className: "card" },
            el("div", { className: "label", text: label }),
            el("div", { className: "value" }, value));
          cards.append(card("Host", printable(h.name)),
                       card("Up", duration(h.uptime_s)),
                       card("Load", h.load ? h.load.map((x) => x.toFixed(2)).join(" ") : "—"),
                       card("Users", String(h.users_reported)),
                       card("Sessions", String(h.sessions_reported)),
                       card("Booted", timeNode(h.boot_us)));
        }
      }
      if (state.hosts.size === 0) {
        body.replaceChildren(el("p", { className: "empty",
          text: "No hosts yet: add them to /etc/utmpsd/hosts (one URL a line), then " +
                "reload utmpsd (systemctl reload utmpsd)." }));
        count.textContent = "";
        return;
      }
      const words = filter.value.trim().toLowerCase();
      const rows = [];
      for (const row of state.hosts.values()) {
        row.load1 = row.load ? row.load[0] : null;
        if (words && !row.name.toLowerCase().includes(words) &&
            !row.groups.some((g) => g.toLowerCase().includes(words))) continue;
        rows.push(row);
      }
      rows.sort(compare(sort[0], sort[1]));
      const down = rows.filter((r) => r.state !== "up").length;
      count.textContent = `${rows.length} host${rows.length === 1 ? "" : "s"}` +
                          (down ? `, ${down} not up` : "");
      if (!body.contains(table.box)) body.replaceChildren(table.box);
      table.setRows(rows);
    }
    return { name: "hosts", render };
  }

  function sessionsTable(label, short, sortInit, onSort) {
    return new VirtualTable(label, [
      { label: "User", key: "user", cell: (s) => userLink(s.user), width: "16%" },
      { label: "Host", key: "hostname", cell: (s) => hostLink(s.hostname), width: "18%" },
      { label: "TTY", key: "tty", cell: (s) => printable(s.tty), width: "12%" },
      { label: "From", key: "host", cell: (s) => printable(s.host) || "—", width: "22%" },
      { label: "Since", key: "login_us", cell: (s) => timeNode(s.login_us), width: "20%" },
      { label: "Idle", key: "idle_s", className: "num",
        cell: (s) => (s.idle_s === null || s.idle_s === undefined ? "—"
                      : duration(s.idle_s + (Date.now() - s.idle_at) / 1000)), width: "12%" },
    ], sortInit, onSort, short);
  }

  function nowView(params) {
    const node = main();
    const userFilter = el("input", { id: "user-filter", type: "search", autocomplete: "off",
                                     value: params.get("user") || "" });
    const hostFilter = el("input", { id: "host-filter", type: "search", autocomplete: "off",
                                     value: params.get("host") || "" });
    const count = el("span", { className: "count", id: "session-count", "aria-live": "polite" });
    let sort = ["login_us", -1];
    const table = sessionsTable("Who is on now", false, sort, (s) => { sort = s;
                                                                        dirty = "sort";
                                                                        render(); });
    const body = el("div", null, el("p", { className: "empty", text: "Loading the sessions…" }));
    node.replaceChildren(el("h1", { text: "Who is on now" }),
                         el("div", { className: "toolbar" },
                            el("label", null, "User", userFilter),
                            el("label", null, "Host", hostFilter), count),
                         body);
    // Every session, in the table's order, kept up with the log of what changed; the rows
    // shown are the filter's pass over it. Under a stream of events the table catches up at
    // most four times a second.
    let sorted = null;
    let logPos = -1;
    let dirty = true;
    let last = 0;
    for (const input of [userFilter, hostFilter]) {
      input.addEventListener("input", () => { dirty = true; render(); });
    }

    function rebuild() {
      const cmp = compare(sort[0], sort[1]);
      sorted = [];
      forEachSession((s) => sorted.push(s));
      sorted.sort(cmp);
      logPos = state.logBase + state.log.length;
    }

    function catchUp() {
      if (sorted === null || logPos < state.logBase) return rebuild();
      const changed = state.log.slice(logPos - state.logBase);
      logPos += changed.length;
      // What this view has read is dropped (it is the only reader).
      state.log = [];
      state.logBase = logPos;
      if (changed.some((x) => x.removed)) sorted = sorted.filter((x) => !x.removed);
      const cmp = compare(sort[0], sort[1]);
      const added = changed.filter((x) => !x.removed);
      if (added.length > 32) {
        // A burst (a host's stream catching up): sorted on its own, then merged.
        added.sort(cmp);
        const merged = new Array(sorted.length + added.length);
        let i = 0;
        let j = 0;
        let k = 0;
        while (i < sorted.length && j < added.length) {
          merged[k++] = cmp(sorted[i], added[j]) <= 0 ? sorted[i++] : added[j++];
        }
        while (i < sorted.length) merged[k++] = sorted[i++];
        while (j < added.length) merged[k++] = added[j++];
        sorted = merged;
        return;
      }
      for (const x of added) {
        let lo = 0;
        let hi = sorted.length;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (cmp(sorted[mid], x) <= 0) lo = mid + 1;
          else hi = mid;
        }
        sorted.splice(lo, 0, x);
      }
    }

    function render() {
      if (state.sessionsError) {
        body.replaceChildren(refusal(state.sessionsError, "The sessions"));
        return;
      }
      if (!state.sessionsLoaded) return;
      const behind = logPos !== state.logBase + state.log.length;
      if (!dirty && behind && Date.now() - last < 250) {
        scheduleRender(255 - (Date.now() - last));
        table.draw();
        return;
      }
      if (!dirty && !behind) { table.draw(); return; }
      last = Date.now();
      if (dirty === "sort") sorted = null;
      dirty = false;
      catchUp();
      const user = userFilter.value.trim().toLowerCase();
      const host = hostFilter.value.trim().toLowerCase();
      const rows = user || host
        ? sorted.filter((x) => (!user || x.userLower.includes(user)) &&
                               (!host || x.hostLower.includes(host)))
        : sorted;
      const users = user || host ? new Set(rows.map((x) => x.user)).size : state.userCounts.size;
      count.textContent = `${rows.length} session${rows.length === 1 ? "" : "s"}, ` +
                          `${users} user${users === 1 ? "" : "s"}` +
                          (state.truncated ? " (the server sent only the first of them)" : "");
      if (state.sessionCount === 0) {
        body.replaceChildren(el("p", { className: "empty", text: "Nobody is logged in." }));
        return;
      }
      if (!body.contains(table.box)) body.replaceChildren(table.box);
      table.setRows(rows);
    }
    return { name: "now", render };
  }

  // ---- The timeline -----------------------------------------------------------------------

  const HOUR = 3600e6;

  // Sessions of the window [from, to) from the history (since one window earlier, so that a
  // session begun before the window and ended in it is drawn), and failed logins per hour.
  async function loadTimeline(windowUs, user) {
    if (!allows("history")) throw tooLow("history");
    const to = nowUs();
    const from = to - windowUs;
    const params = { since: String(Math.floor((from - windowUs) / 1e6)) };
    if (user) params.user = user;
    const history = await getPaged(state.api.history, "sessions", params, 20);
    let failed = null;
    let failedError = null;
    try {
      if (!allows("full")) throw tooLow("full");
      const fp = { since: String(Math.floor(from / 1e6)) };
      if (user) fp.user = user;
      failed = await getPaged(state.api.failed, "failed", fp, 20);
    } catch (error) {
      failedError = error;
    }
    return { from, to, history, failed, failedError };
  }

  function drawTimeline(data, groupBy, filterText, widthPx) {
    const { from, to } = data;
    const labelW = 150;
    const rowH = 22;
    const width = Math.max(480, widthPx);
    const plotW = width - labelW - 12;
    const x = (us) => labelW + ((Math.min(Math.max(us, from), to) - from) / (to - from)) * plotW;
    const groups = new Map();
    const boots = new Map();  // hostname -> [time]
    const words = filterText.trim().toLowerCase();
    let bars = 0;
    for (const s of data.history.rows) {
      const hostname = s.hostname || state.hostName;
      if (s.type === "boot") {
        if (s.login_time_us >= from) {
          if (!boots.has(hostname)) boots.set(hostname, []);
          boots.get(hostname).push(s.login_time_us);
        }
        continue;
      }
      const end = s.logout_time_us ?? to;
      if (end < from || s.login_time_us >= to) continue;
      const key = groupBy === "user" ? s.user : hostname;
      if (words && !String(key).toLowerCase().includes(words)) continue;
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(s);
    }
    const names = [...groups.keys()].sort();
    const shown = names.slice(0, 300);
    const axisH = 22;
    const height = axisH + shown.length * rowH + 4;
    const root = svg("svg", { width: String(width), height: String(height), role: "img",
                              "aria-label": `Sessions per ${groupBy}, ` +
                                `${dateTime.format(new Date(from / 1000))} to now` });
    root.append(svg("title", { text: `Sessions per ${groupBy}` }));
    // The time axis: every 3 hours over a day, every day over a week.
    const step = to - from > 2 * 86400e6 ? 24 * HOUR : 3 * HOUR;
    const first = new Date(from / 1000);
    first.setMinutes(0, 0, 0);
    if (step === 24 * HOUR) first.setHours(0);
    else first.setHours(Math.ceil(first.getHours() / 3) * 3);
    for (let t = first.getTime() * 1000; t < to; t += step) {
      if (t < from) continue;
      const px = x(t);
      root.append(svg("line", { class: "grid", x1: px, x2: px, y1: axisH - 4, y2: height }),
                  svg("text", { x: px + 2 > width - 60 ? width - 2 : px + 2, y: 12,
                                "text-anchor": px + 2 > width - 60 ? "end" : "start",
                                text: step === 24 * HOUR
                    ? dayFormat.format(new Date(t / 1000)) : hourMinute.format(new Date(t / 1000)) }));
    }
    shown.forEach((name, i) => {
      const y = axisH + i * rowH;
      const label = svg("text", { class: "rowlabel", x: 4, y: y + 15 },
                        svg("title", { text: printable(name) }),
                        document.createTextNode(printable(name).slice(0, 22)));
      root.append(label);
      if (groupBy === "host") {
        for (const t of boots.get(name) || []) {
          root.append(svg("line", { class: "boot", x1: x(t), x2: x(t), y1: y + 1, y2: y + rowH - 1 },
                          svg("title", { text: `boot, ${utc(t)}` })));
        }
      }
      for (const s of groups.get(name)) {
        const x0 = x(s.login_time_us);
        const x1 = x(s.logout_time_us ?? to);
        const who = groupBy === "user" ? (s.hostname || state.hostName) : s.user;
        const text = `${printable(who)} on ${printable(s.tty)}` +
                     (s.host ? ` from ${printable(s.host)}` : "") +
                     `: ${utc(s.login_time_us)} – ` +
                     (s.logout_time_us ? utc(s.logout_time_us) : "now") + ` (${s.end})`;
        const bar = svg("rect", { class: `bar end-${s.end}`, x: x0, y: y + 4,
                                  width: Math.max(2, x1 - x0), height: rowH - 8, rx: 2,
                                  "data-end": s.end },
                        svg("title", { text }));
        root.append(bar);
        ++bars;
        if (s.end === "crash" || s.end === "down" || s.end === "gone") {
          root.append(svg("rect", { class: `mark-${s.end}`, x: Math.max(labelW, x1 - 3),
                                    y: y + 1, width: 4, height: rowH - 2 },
                          svg("title", { text: `${s.end}: ${text}` })));
        }
      }
    });
    return { node: root, groups: names.length, shownGroups: shown.length, bars };
  }

  function drawFailed(data, widthPx) {
    const { from, to } = data;
    const hours = Math.round((to - from) / HOUR);
    const counts = new Array(hours).fill(0);
    const add = (t) => {
      const i = Math.floor((t - from) / HOUR);
      if (i >= 0 && i < hours) ++counts[i];
    };
    for (const f of data.failed.rows) add(f.time_us);
    const width = Math.max(240, widthPx);
    const height = 160;
    const top = Math.max(1, ...counts);
    const barW = (width - 30) / hours;
    const root = svg("svg", { width: String(width), height: String(height), role: "img",
                              "aria-label": `Failed logins per hour: ${counts.reduce((a, b) => a + b, 0)} in all` });
    root.append(svg("title", { text: "Failed logins per hour" }),
                svg("text", { x: 0, y: 12, text: String(top) }),
                svg("line", { class: "grid", x1: 28, x2: width, y1: height - 18, y2: height - 18 }));
    counts.forEach((n, i) => {
      if (!n) return;
      const h = ((height - 36) * n) / top;
      const start = new Date((from + i * HOUR) / 1000);
      root.append(svg("rect", { class: "failedbar", x: 30 + i * barW, y: height - 18 - h,
                                width: Math.max(1, barW - 1), height: h },
                      svg("title", { text: `${n} failed login${n === 1 ? "" : "s"}, ` +
                                           `${dateTime.format(start)}, one hour` })));
    });
    root.append(svg("text", { x: 30, y: height - 4, text: dateTime.format(new Date(from / 1000)) }),
                svg("text", { x: width - 4, y: height - 4, "text-anchor": "end", text: "now" }));
    return root;
  }

  function legend() {
    const item = (cls, text) => el("li", null, el("span", { className: `swatch ${cls}`,
                                                           "aria-hidden": "true" }), text);
    return el("ul", { className: "legend", "aria-label": "Legend" },
              item("sw-bar", "ended by a logout"), item("sw-open", "still logged in"),
              item("sw-gone", "gone (the process died without a logout)"),
              item("sw-crash", "crash"), item("sw-down", "shut down"),
              item("sw-failed", "failed logins"));
  }

  function timelineView(params, user) {
    const node = main();
    const range = el("select", { id: "timeline-range" },
                     el("option", { value: "day", text: "the last day" }),
                     el("option", { value: "week", text: "the last week" }));
    range.value = params.get("range") === "week" ? "week" : "day";
    const group = el("select", { id: "timeline-group" },
                     el("option", { value: "host", text: "host" }),
                     el("option", { value: "user", text: "user" }));
    group.value = user ? "host" : (params.get("by") === "user" ? "user" : "host");
    const filter = el("input", { id: "timeline-filter", type: "search", autocomplete: "off" });
    const status = el("span", { className: "count", id: "timeline-status", "aria-live": "polite" });
    const chart = el("div", { className: "chart", id: "timeline-chart" });
    const failed = el("div", { className: "chart", id: "failed-chart" });
    const toolbar = el("div", { className: "toolbar" },
                       el("label", null, "Over", range),
                       user ? null : el("label", null, "Per", group),
                       el("label", null, "Filter", filter),
                       el("button", { type: "button", id: "timeline-again", text: "Read again",
                                      onclick: () => load() }),
                       status);
    const parts = [];
    if (!user) parts.push(el("h1", { text: "Login timeline" }));
    parts.push(toolbar, legend(),
               el("div", { className: "charts" },
                  el("section", { "aria-labelledby": "sessions-title" },
                     el("h2", { id: "sessions-title", text: "Sessions" }), chart),
                  el("section", { "aria-labelledby": "failed-title" },
                     el("h2", { id: "failed-title", text: "Failed logins per hour" }), failed)));
    const container = user ? el("div") : node;
    container.replaceChildren(...parts);

    let data = null;
    let loading = 0;
    async function load() {
      const mine = ++loading;
      status.textContent = "loading…";
      try {
        const d = await loadTimeline(range.value === "week" ? 168 * HOUR : 24 * HOUR, user);
        if (mine !== loading) return;
        data = d;
        draw();
      } catch (error) {
        if (mine !== loading) return;
        chart.replaceChildren(refusal(error, "The history"));
        status.textContent = "";
      }
    }
    function draw() {
      if (!data) return;
      const width = chart.clientWidth - 16;
      const t = drawTimeline(data, user ? "host" : group.value, filter.value, width);
      if (t.groups === 0) {
        chart.replaceChildren(el("p", { className: "empty",
                                        text: "No sessions in this time." }));
      } else {
        chart.replaceChildren(t.node);
      }
      status.textContent = `${t.bars} session${t.bars === 1 ? "" : "s"}` +
        (t.shownGroups < t.groups ? `; the first ${t.shownGroups} of ${t.groups} rows (filter to see the others)` : "") +
        (data.history.truncated ? "; only the newest 20,000 sessions were read" : "");
      if (data.failed) failed.replaceChildren(drawFailed(data, failed.clientWidth - 16));
      else failed.replaceChildren(refusal(data.failedError, "Failed logins"));
    }
    range.addEventListener("change", load);
    group.addEventListener("change", draw);
    filter.addEventListener("input", draw);
    load();
    return { name: "timeline", node: container, render: () => {}, resize: draw, reload: load };
  }

  function userView(name) {
    const node = main();
    let sort = ["login_us", -1];
    const table = sessionsTable(`Where ${name} is on now`, true, sort,
                                (s) => { sort = s; seen = -1; render(); });
    const count = el("p", { className: "count", id: "user-count" });
    const body = el("div");
    const timeline = timelineView(new URLSearchParams("range=week"), name);
    node.replaceChildren(el("h1", null, "User ", el("span", { text: printable(name) })),
                         el("h2", { text: "On now" }), count, body,
                         el("h2", { text: "Sessions across hosts" }), timeline.node);
    let seen = -1;
    function render() {
      if (state.sessionsError) {
        body.replaceChildren(refusal(state.sessionsError, "The sessions"));
        return;
      }
      if (!state.sessionsLoaded || seen === state.version) return;
      seen = state.version;
      const rows = [];
      forEachSession((s) => { if (s.user === name) rows.push(s); });
      rows.sort(compare(sort[0], sort[1]));
      const hosts = new Set(rows.map((s) => s.hostname)).size;
      count.textContent = rows.length ? `${rows.length} session${rows.length === 1 ? "" : "s"} ` +
        `on ${hosts} host${hosts === 1 ? "" : "s"}` : "Not logged in anywhere now.";
      if (!rows.length) { body.replaceChildren(); return; }
      if (!body.contains(table.box)) body.replaceChildren(table.box);
      table.setRows(rows);
    }
    return { name: "user", render, resize: timeline.resize };
  }

  // ---- Routing and drawing ----------------------------------------------------------------

  function route() {
    const hash = location.hash.replace(/^#/, "") || "/";
    const [path, query] = hash.split("?");
    const params = new URLSearchParams(query || "");
    let name = path.split("/")[1] || (state.mode === "fleet" ? "hosts" : "now");
    if (name === "user") {
      const user = decodeURIComponent(path.slice("/user/".length));
      view = userView(user);
    } else if (name === "timeline") {
      view = timelineView(params, null);
    } else if (name === "now") {
      view = nowView(params);
    } else {
      name = "hosts";
      view = hostsView();
    }
    for (const a of document.querySelectorAll("nav a")) {
      if (a.dataset.view === name) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    document.title = `${{ hosts: "Hosts", now: "Who is on", timeline: "Timeline",
                          user: "User" }[name]} — ${state.hostName || "utmpcd"}`;
    view.render();
  }

  let renderQueued = false;
  function scheduleRender(delay) {
    if (renderQueued) return;
    renderQueued = true;
    const run = () => { renderQueued = false; if (view) view.render(); };
    if (delay) setTimeout(() => requestAnimationFrame(run), delay);
    else requestAnimationFrame(run);
  }
  function refresh() { scheduleRender(); }

  async function start() {
    setUpToken();
    state.mode = document.body.dataset.server === "utmpsd" ? "fleet" : "host";
    try {
      const access = await getJSON("/v1/access");
      state.tier = access.tier;
      const button = document.getElementById("token-button");
      button.textContent = access.token ? `Token (${access.tier})` : `Token`;
      button.title = `You see the ${access.tier} tier` +
                     (access.rule ? ` (rule ${access.rule})` : "");
    } catch (error) {
      if (error instanceof HttpError && error.status === 401) {
        // A token this server does not know (a cookie of this browser): say so, and offer to
        // forget it.
        main().replaceChildren(el("div", { className: "empty" },
          el("p", { className: "error", text: `The token this browser presents: ${error.message}` }),
          el("div", { className: "buttons" },
             el("button", { type: "button", id: "forget-token", text: "Forget the token",
                            onclick: () => setTokenCookie("") }),
             el("button", { type: "button", text: "Present another", onclick: openTokenDialog }))));
        setLive("refused", false);
      } else {
        main().replaceChildren(refusal(error, "This server"));
        setLive("unreachable", false);
      }
      return;
    }
    state.api = state.mode === "fleet" ? FLEET : HOST;
    document.getElementById("scope").textContent =
      state.mode === "fleet" ? "the fleet" : "this host";
    if (state.mode === "host") {
      await loadHosts();  // the host's name, which its sessions do not carry
      document.getElementById("scope").textContent = printable(state.hostName);
    }
    // The stream first, then the sessions: events that arrive meanwhile wait, and are applied
    // on top of the sessions (applying one twice changes nothing).
    if (allows("history")) {
      openStream();
    } else {
      setLive(`${state.tier} tier: every 10 s`, false);
      // Without the event stream (it needs the history tier), the sessions are asked again.
      resync();
      if (allows("sessions")) setInterval(resync, 10000);
    }
    // The view is drawn now, and again as the hosts and the sessions arrive (together).
    route();
    window.addEventListener("hashchange", () => { route(); main().focus(); });
    await Promise.all([state.mode === "fleet" ? loadHosts() : null, sessionsRead]);
    let resizeTimer = 0;
    window.addEventListener("resize", () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(() => { if (view && view.resize) view.resize();
                                       scheduleRender(); }, 150);
    });
    // States change without events (a host cut off): the hosts are asked again, less often for
    // a large fleet.
    const every = state.hosts.size > 2000 ? 30000 : 5000;
    setInterval(loadHosts, every);
  }

  // The tests and bench/dashboard.sh read what the page holds, and when it was first drawn
  // (readyMs: since the navigation began).
  window.utmpDashboard = { state, ready: false, readyMs: null };
  document.addEventListener("DOMContentLoaded", () => {
    start().finally(() => {
      requestAnimationFrame(() => {
        window.utmpDashboard.readyMs = performance.now();
        window.utmpDashboard.ready = true;
      });
    });
  });
})();
