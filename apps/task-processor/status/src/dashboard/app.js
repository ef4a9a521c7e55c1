// The task processor's dashboard. It logs in with the OAuth 2.0 authorization code flow and PKCE
// (RFC 7636, S256) as the realm's public client, and keeps the access token in this script's
// memory only: never in the URL, an input, a cookie, localStorage or sessionStorage, so nothing
// left behind in the browser can be replayed. A reload forgets it: log in again.

(() => {
  const $ = (id) => document.getElementById(id);
  const examples = {
    hash: { data: "hello, sweaty world", rounds: 1000 },
    wordstats: { text: "No magic boxes. Every layer explicit, explained and tested. Every layer." },
    sleep: { ms: 3000 },
    fail: { reason: "demo failure" },
  };
  // Only the PKCE verifier and the state cross the redirect to the issuer and back (this tab only).
  const PKCE_KEY = "ktsw-pkce";
  const LIST_LIMIT = 50;

  let cfg = { gatewayUrl: "", oidc: null };
  /** { token, sub } while logged in; in memory only. */
  let session = null;
  let expiryTimer;
  let ws;
  let discovery;
  /** Jobs as last known (JobView fields), and the statuses this page saw each one take. */
  const jobs = new Map();
  const trails = new Map();
  const subscribed = new Set();
  let selected = null;

  function say(text, isError) {
    const m = $("message");
    m.textContent = text;
    m.className = isError ? "error" : "";
  }

  // ---- login: authorization code + PKCE ----------------------------------------------------------

  const b64url = (bytes) =>
    btoa(String.fromCharCode(...new Uint8Array(bytes)))
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .replace(/=+$/, "");
  const redirectUri = () => location.origin + location.pathname;
  const random = (n) => b64url(crypto.getRandomValues(new Uint8Array(n)));

  async function discover() {
    discovery ??= fetch(`${cfg.oidc.issuer}/.well-known/openid-configuration`).then((r) => {
      if (!r.ok) throw new Error(`issuer discovery answered ${r.status}`);
      return r.json();
    });
    return discovery.catch((err) => {
      discovery = undefined;
      throw err;
    });
  }

  async function login() {
    const verifier = random(32);
    const state = random(16);
    sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state }));
    const challenge = b64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
    const meta = await discover();
    const url = new URL(meta.authorization_endpoint);
    const params = {
      client_id: cfg.oidc.clientId,
      response_type: "code",
      redirect_uri: redirectUri(),
      scope: "openid",
      state,
      code_challenge: challenge,
      code_challenge_method: "S256",
    };
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    location.assign(url.toString());
  }

  /** Back from the issuer with ?code=…&state=… (or ?error=…): exchange the code, then forget the URL. */
  async function finishLogin() {
    const q = new URLSearchParams(location.search);
    if (!q.has("code") && !q.has("error")) return;
    const pkce = JSON.parse(sessionStorage.getItem(PKCE_KEY) || "null");
    sessionStorage.removeItem(PKCE_KEY);
    // The code is single-use, but it has no business in the history or a bookmark either.
    history.replaceState(null, "", redirectUri());
    if (q.has("error")) throw new Error(q.get("error_description") || q.get("error"));
    if (!pkce || q.get("state") !== pkce.state) throw new Error("state mismatch");
    const meta = await discover();
    // RFC 9207: an authorization response names its issuer; one from another issuer is refused.
    if (q.has("iss") && q.get("iss") !== meta.issuer) throw new Error("the answer came from another issuer");
    const res = await fetch(meta.token_endpoint, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code: q.get("code"),
        redirect_uri: redirectUri(),
        client_id: cfg.oidc.clientId,
        code_verifier: pkce.verifier,
      }),
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok || !body.access_token) throw new Error(body.error_description || body.error || `HTTP ${res.status}`);
    await startSession(body.access_token, body.expires_in);
  }

  function claimsOf(token) {
    const part = token.split(".")[1] || "";
    return JSON.parse(atob(part.replace(/-/g, "+").replace(/_/g, "/")));
  }

  async function startSession(token, expiresIn) {
    const claims = claimsOf(token);
    const expiresAt = claims.exp ? claims.exp * 1000 : Date.now() + (expiresIn || 300) * 1000;
    session = { token, sub: claims.sub };
    clearTimeout(expiryTimer);
    expiryTimer = setTimeout(() => endSession("Your login expired: log in again.", true), expiresAt - Date.now());
    document.body.dataset.auth = "in";
    $("user").textContent = claims.preferred_username || claims.sub || "";
    $("login").hidden = true;
    $("logout").hidden = false;
    say(`logged in as ${$("user").textContent}`);
    connect();
    refreshStats();
    await loadJobs();
  }

  function endSession(reason, isError) {
    session = null;
    clearTimeout(expiryTimer);
    if (ws) {
      ws.onclose = null;
      ws.close();
      ws = undefined;
    }
    subscribed.clear();
    setConn(false, "");
    document.body.dataset.auth = "out";
    $("user").textContent = "";
    $("login").hidden = !cfg.oidc;
    $("logout").hidden = true;
    say(reason, isError);
  }

  /** A request with the token; a 401 means the token is no good any more: log in again. */
  async function api(url, init = {}) {
    if (!session) throw new Error("not logged in");
    const res = await fetch(url, {
      ...init,
      headers: { ...(init.headers || {}), authorization: `Bearer ${session.token}` },
    });
    if (res.status === 401) {
      endSession("Your login is no longer valid: log in again.", true);
      throw new Error("login no longer valid");
    }
    return res;
  }

  const problemText = (res, body) => {
    const where = (body.errors || []).map((e) => `${e.path} ${e.message}`).join("; ");
    return `${res.status} ${body.title || ""}: ${body.detail || ""}${where ? ` (${where})` : ""}`;
  };

  // ---- jobs: list, detail, dead letters -----------------------------------------------------------

  function remember(view) {
    const known = jobs.get(view.id) || {};
    const job = { ...known, ...view };
    jobs.set(view.id, job);
    const trail = trails.get(view.id) || [];
    if (trail[trail.length - 1] !== job.status) trail.push(job.status);
    trails.set(view.id, trail);
    render(job);
  }

  function row(job, prepend) {
    let tr = $(`job-${job.id}`);
    if (!tr) {
      tr = document.createElement("tr");
      tr.id = `job-${job.id}`;
      tr.dataset.jobId = job.id;
      for (const cls of ["id", "type", "status", "attempt", "result", "trail"]) {
        const td = document.createElement("td");
        td.className = cls;
        tr.append(td);
      }
      const badge = document.createElement("span");
      badge.className = "badge";
      tr.querySelector(".status").append(badge);
      tr.querySelector(".id").textContent = job.id;
      tr.addEventListener("click", () => select(job.id));
      if (prepend) $("jobs").prepend(tr);
      else $("jobs").append(tr);
    }
    return tr;
  }

  const outcome = (job) =>
    job.error ?? (job.result === null || job.result === undefined ? "" : JSON.stringify(job.result));

  function render(job, prepend = true) {
    const tr = row(job, prepend);
    tr.dataset.status = job.status;
    tr.querySelector(".type").textContent = job.type || "";
    tr.querySelector(".badge").textContent = job.status;
    tr.querySelector(".attempt").textContent = job.attempts ?? "";
    tr.querySelector(".result").textContent = outcome(job).slice(0, 160);
    tr.querySelector(".trail").textContent = (trails.get(job.id) || []).join(" → ");
    renderDeadLetter(job);
    if (selected === job.id) renderDetail(job);
  }

  function renderDeadLetter(job) {
    let tr = $(`dl-${job.id}`);
    if (job.status !== "failed") {
      tr?.remove();
    } else {
      if (!tr) {
        tr = document.createElement("tr");
        tr.id = `dl-${job.id}`;
        tr.dataset.jobId = job.id;
        for (const cls of ["id", "type", "reason", "at", "action"]) {
          const td = document.createElement("td");
          td.className = cls;
          tr.append(td);
        }
        const replay = document.createElement("button");
        replay.type = "button";
        replay.className = "replay";
        replay.textContent = "Replay";
        replay.addEventListener("click", () => replayJob(job.id, replay));
        tr.querySelector(".action").append(replay);
        tr.querySelector(".id").textContent = job.id;
        $("dead-letters").prepend(tr);
      }
      tr.querySelector(".type").textContent = job.type || "";
      tr.querySelector(".reason").textContent = job.error || "";
      tr.querySelector(".at").textContent = job.updatedAt || "";
    }
    $("dead-letters-empty").hidden = $("dead-letters").children.length > 0;
  }

  function renderDetail(job) {
    const d = $("detail");
    d.hidden = false;
    d.dataset.jobId = job.id;
    d.dataset.status = job.status;
    const text = {
      ...job,
      result: job.result === null || job.result === undefined ? "" : JSON.stringify(job.result, null, 2),
      error: job.error || "",
      trail: (trails.get(job.id) || []).join(" → "),
    };
    for (const el of d.querySelectorAll("[data-field]")) el.textContent = text[el.dataset.field] ?? "";
  }

  async function select(id) {
    selected = id;
    for (const tr of $("jobs").children) tr.setAttribute("aria-selected", String(tr.dataset.jobId === id));
    renderDetail(jobs.get(id));
    await refreshJob(id);
  }

  /** The job's full view from the API (events carry a transition, not every field). */
  async function refreshJob(id) {
    try {
      const res = await api(`/v1/jobs/${id}`);
      if (res.ok) remember(await res.json());
    } catch {
      // the next event tries again
    }
  }

  async function loadJobs() {
    try {
      const [recent, failed] = await Promise.all([
        api(`/v1/jobs?limit=${LIST_LIMIT}`),
        api(`/v1/jobs?status=failed&limit=${LIST_LIMIT}`),
      ]);
      if (!recent.ok || !failed.ok) throw new Error(`HTTP ${recent.ok ? failed.status : recent.status}`);
      const lists = [(await recent.json()).jobs, (await failed.json()).jobs];
      // Newest first, as the API lists them: appended in that order.
      for (const list of lists) {
        for (const job of list) {
          const known = jobs.has(job.id);
          jobs.set(job.id, { ...jobs.get(job.id), ...job });
          if (!trails.has(job.id)) trails.set(job.id, [job.status]);
          if (!known) render(jobs.get(job.id), false);
        }
      }
      watch([...jobs.keys()]);
    } catch (err) {
      if (session) say(`could not load your jobs: ${err.message}`, true);
    }
  }

  async function replayJob(id, button) {
    button.disabled = true;
    try {
      const res = await api(`${cfg.gatewayUrl}/v1/jobs/${id}/replay`, { method: "POST" });
      const body = await res.json().catch(() => ({}));
      if (res.status !== 202) {
        say(problemText(res, body), true);
        return;
      }
      say(`replayed ${id}`);
      watch([id]);
      remember({ id, status: "queued", attempts: 0, error: null, result: null });
    } catch (err) {
      say(`gateway unreachable: ${err.message}`, true);
    } finally {
      button.disabled = false;
    }
  }

  // ---- live updates over the WebSocket ------------------------------------------------------------

  function setConn(open, note) {
    $("conn").textContent = open ? "● live" : `● disconnected${note}`;
    $("conn").dataset.state = open ? "open" : "closed";
  }

  function watch(ids) {
    const fresh = ids.filter((id) => !subscribed.has(id));
    for (const id of fresh) subscribed.add(id);
    if (ws && ws.readyState === 1 && ws.ready) sendSubscribe(fresh);
  }

  function sendSubscribe(ids) {
    for (let i = 0; i < ids.length; i += 100)
      ws.send(JSON.stringify({ type: "subscribe", ids: ids.slice(i, i + 100) }));
  }

  function connect() {
    if (!session) return;
    const url = new URL("/v1/ws", location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(url);
    ws = socket;
    socket.onopen = () => socket.send(JSON.stringify({ type: "auth", token: session.token }));
    socket.onmessage = (e) => {
      const m = JSON.parse(e.data);
      if (m.type === "ready") {
        socket.ready = true;
        setConn(true, "");
        sendSubscribe([...subscribed]);
      } else if (m.type === "snapshot") {
        remember(m.job);
      } else if (m.type === "event") {
        const ev = m.event;
        const change = { id: ev.id, type: ev.type, status: ev.status, attempts: ev.attempt, updatedAt: ev.at };
        if (ev.error !== undefined) change.error = ev.error;
        if (ev.result !== undefined) change.result = ev.result;
        remember(change);
        if (selected === ev.id) refreshJob(ev.id);
      } else if (m.type === "error" && !m.id) {
        say(m.message, true);
      }
    };
    socket.onclose = (e) => {
      if (ws !== socket) return;
      if (e.code === 4401) {
        endSession("Your login expired: log in again.", true);
        return;
      }
      setConn(false, "");
      setTimeout(() => ws === socket && connect(), 2000);
    };
  }

  // ---- submitting and stats -----------------------------------------------------------------------

  $("payload").value = JSON.stringify(examples.hash, null, 2);
  $("type").addEventListener("change", (e) => {
    $("payload").value = JSON.stringify(examples[e.target.value], null, 2);
  });

  $("submit-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!session) {
      say("log in first", true);
      return;
    }
    let payload;
    try {
      payload = JSON.parse($("payload").value);
    } catch {
      say("payload is not valid JSON", true);
      return;
    }
    try {
      const type = $("type").value;
      const res = await api(`${cfg.gatewayUrl}/v1/jobs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ type, payload }),
      });
      const body = await res.json();
      if (res.status !== 202) {
        say(problemText(res, body), true);
        return;
      }
      say(`accepted ${body.id}`);
      if (!jobs.has(body.id)) remember({ id: body.id, type, status: "queued", attempts: 0, error: null, result: null });
      watch([body.id]);
    } catch (err) {
      say(`gateway unreachable: ${err.message}`, true);
    }
  });

  async function refreshStats() {
    if (!session) return;
    try {
      const res = await api("/v1/stats");
      if (!res.ok) return;
      const s = await res.json();
      $("queue-depth").textContent = s.queueDepth ?? "?";
      $("throughput").textContent = s.finishedLastMinute;
      $("count-succeeded").textContent = s.counts.succeeded;
      $("count-failed").textContent = s.counts.failed;
    } catch {
      // next tick
    }
  }

  $("login").addEventListener("click", () => login().catch((err) => say(`login failed: ${err.message}`, true)));
  // Logging out forgets the jobs shown too (a shared screen); an expiry keeps them, greyed, until the next login.
  $("logout").addEventListener("click", () => {
    endSession("logged out", false);
    jobs.clear();
    trails.clear();
    selected = null;
    $("jobs").replaceChildren();
    $("dead-letters").replaceChildren();
    $("dead-letters-empty").hidden = false;
    $("detail").hidden = true;
  });

  (async () => {
    try {
      cfg = await (await fetch("/config.json")).json();
    } catch {
      say("could not read /config.json", true);
      return;
    }
    if (!cfg.oidc) {
      say("no login configured for this dashboard (DASHBOARD_OIDC_CLIENT_ID)", true);
      return;
    }
    $("login").hidden = false;
    try {
      await finishLogin();
    } catch (err) {
      say(`login failed: ${err.message}`, true);
    }
    if (!session) say($("message").textContent || "Log in to see your jobs.", $("message").className === "error");
    setInterval(refreshStats, 2000);
  })();
})();
