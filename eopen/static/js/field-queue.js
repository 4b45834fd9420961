/* E-Open field mode (/lapangan): actions made without a connection wait on the phone and are sent when
   the connection returns. Progressive enhancement, loaded on field pages only:
   - form[data-queue] (its label in data-queue; hidden inputs action_id and happened_at): happened_at gets
     the phone's time on submit. Online, the form then submits as usual. Offline, its fields (files too)
     are stored in IndexedDB and the count of actions waiting to be sent is shown.
   - The queue is sent in order on page load, on the "online" event and every 20 s: a POST per action
     with Accept: application/json. ok → removed; refused (409/422, or another 4xx) → kept in a "rejected"
     store shown as a list with the server's message until the satgas removes each item; network error,
     5xx or a lost session → stop and try again later. The server accepts each action_id once.
   - Registers the service worker (data-sw) that keeps offline copies of the field pages; clears those
     copies when the satgas logs out (warning first when actions still wait to be sent; they are kept).
   The status element #field-queue (field/_queue.html) holds the translated texts (data-msg-*).
   Without IndexedDB nothing at all happens: every form submits as usual. */
(() => {
  "use strict";
  const box = document.getElementById("field-queue");
  if (!box || !window.indexedDB || !window.fetch || !window.FormData || !window.Promise) return;

  const DB_NAME = "eopen-field", QUEUE = "queue", REJECTED = "rejected";
  const CACHE_PREFIX = "eopen-field-";
  const FLUSH_EVERY = 20000;
  const SENT_KEY = "eopen-field-sent", RELOADED_KEY = "eopen-field-reloaded";
  const user = box.dataset.user || "";
  const statusEl = box.querySelector(".fq-status");
  const copyEl = box.querySelector(".fq-copy");
  const rejectedEl = box.querySelector(".fq-rejected");
  const listEl = box.querySelector(".fq-list");

  const msg = (name, values) => {
    let text = box.getAttribute("data-msg-" + name) || "";
    Object.keys(values || {}).forEach((key) => { text = text.split("{" + key + "}").join(String(values[key])); });
    return text;
  };
  const pathOf = (url) => { try { return new URL(url, location.href).pathname; } catch (e) { return ""; } };
  // The phone's local time as the app writes dates: 28-11-2026 09.58.
  const when = (iso) => {
    const date = new Date(iso);
    if (isNaN(date)) return "";
    const two = (n) => String(n).padStart(2, "0");
    return `${two(date.getDate())}-${two(date.getMonth() + 1)}-${date.getFullYear()} ` +
      `${two(date.getHours())}.${two(date.getMinutes())}`;
  };
  const session = {
    get: (key) => { try { return sessionStorage.getItem(key); } catch (e) { return null; } },
    set: (key, value) => { try { sessionStorage.setItem(key, value); } catch (e) { /* private mode */ } },
    drop: (key) => { try { sessionStorage.removeItem(key); } catch (e) { /* private mode */ } },
  };

  // --- IndexedDB: "queue" (waiting, in order) and "rejected" (refused by the server, kept to be read) ---
  let dbPromise = null;
  const openDb = () => dbPromise || (dbPromise = new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains(QUEUE)) {
        db.createObjectStore(QUEUE, {keyPath: "seq", autoIncrement: true})
          .createIndex("action_id", "action_id", {unique: true});
      }
      if (!db.objectStoreNames.contains(REJECTED)) db.createObjectStore(REJECTED, {keyPath: "seq", autoIncrement: true});
    };
    request.onsuccess = () => {
      const db = request.result;
      db.onversionchange = () => { db.close(); dbPromise = null; };
      resolve(db);
    };
    request.onerror = () => reject(request.error);
  }).catch((error) => { dbPromise = null; throw error; }));

  // work(transaction, setResult) queues requests; resolves with the result once the transaction completed.
  const run = (stores, mode, work) => openDb().then((db) => new Promise((resolve, reject) => {
    const tx = db.transaction(stores, mode);
    let result;
    tx.oncomplete = () => resolve(result);
    tx.onabort = tx.onerror = () => reject(tx.error || new Error("IndexedDB"));
    work(tx, (value) => { result = value; });
  }));
  // This user's entries of a store, oldest first (another satgas' entries on a shared phone wait for them).
  const mine = (store) => run([store], "readonly", (tx, set) => {
    const request = tx.objectStore(store).getAll();
    request.onsuccess = () => set(request.result.filter((item) => item.user === user));
  });
  const addToQueue = (item) => run([QUEUE], "readwrite", (tx, set) => {
    const request = tx.objectStore(QUEUE).add(item);
    set("saved");
    request.onerror = (event) => {
      if (request.error && request.error.name === "ConstraintError") { event.preventDefault(); set("duplicate"); }
    };
  });
  const removeFrom = (store, seq) => run([store], "readwrite", (tx) => { tx.objectStore(store).delete(seq); });
  const moveToRejected = (item, answer) => run([QUEUE, REJECTED], "readwrite", (tx) => {
    const copy = Object.assign({}, item, {message: answer.message, status: answer.status, field: answer.field || null,
                                          rejected_at: new Date().toISOString()});
    delete copy.seq;
    tx.objectStore(QUEUE).delete(item.seq);
    tx.objectStore(REJECTED).add(copy);
  });

  // --- What the satgas sees ----------------------------------------------------------------------
  const line = (className) => {
    const p = document.createElement("p");
    p.className = className;
    p.hidden = true;
    statusEl.appendChild(p);
    return p;
  };
  const countEl = line("fq-count");
  const noteEl = line("fq-note");
  const note = (text, kind) => {
    noteEl.textContent = text || "";
    noteEl.className = "fq-note" + (kind ? " fq-" + kind : "");
    noteEl.hidden = !text;
  };

  const renderRejected = (items) => {
    listEl.textContent = "";
    items.forEach((item) => {
      const li = document.createElement("li");
      const label = document.createElement("p");
      label.className = "fq-label";
      label.textContent = item.label;
      const reason = document.createElement("p");
      reason.textContent = item.message;
      const time = document.createElement("p");
      time.className = "caption";
      time.textContent = msg("recorded", {time: when(item.happened_at || item.queued_at)});
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "button secondary small-button";
      remove.textContent = msg("remove");
      remove.addEventListener("click", () => {
        removeFrom(REJECTED, item.seq).then(render, render);
      });
      li.append(label, reason, time, remove);
      listEl.appendChild(li);
    });
    rejectedEl.hidden = items.length === 0;
  };

  // A form whose action already waits on the phone says so and cannot be sent a second time.
  const markForms = (queue) => {
    const waiting = new Set(queue.map((item) => item.action_id));
    document.querySelectorAll("form[data-queue]").forEach((form) => {
      const input = form.querySelector('input[name="action_id"]');
      const queued = !!(input && waiting.has(input.value));
      form.querySelectorAll('button[type="submit"], button:not([type]), input[type="submit"]').forEach((button) => {
        if (queued) { button.disabled = true; button.dataset.fqDisabled = "1"; }
        else if (button.dataset.fqDisabled) { button.disabled = false; delete button.dataset.fqDisabled; }
      });
      let mark = form.querySelector(".fq-queued");
      if (queued && !mark) {
        mark = document.createElement("p");
        mark.className = "fq-queued";
        mark.textContent = msg("waiting");
        form.appendChild(mark);
      } else if (!queued && mark) {
        mark.remove();
      }
    });
  };

  let waitingCount = 0;
  let flushing = null;  // the running flush (a promise), if any
  let holdReload = false;  // a form is being sent after the queue: do not reload the page under it
  const render = () => Promise.all([mine(QUEUE), mine(REJECTED)]).then(([queue, rejected]) => {
    waitingCount = queue.length;
    countEl.textContent = queue.length ? msg(queue.length === 1 ? "one" : "many", {n: queue.length}) : "";
    countEl.hidden = queue.length === 0;
    renderRejected(rejected);
    markForms(queue);
  }).catch(() => { /* storage unavailable right now: nothing to show */ });

  // --- Submitting a form ---------------------------------------------------------------------------
  const fieldsOf = (form, submitter) => {
    let data;
    try {
      data = submitter ? new FormData(form, submitter) : new FormData(form);
    } catch (e) {
      data = new FormData(form);
      if (submitter && submitter.name) data.append(submitter.name, submitter.value);
    }
    return Array.from(data.entries());
  };

  const queueForm = (form, submitter, happenedAt) => {
    const fields = fieldsOf(form, submitter);
    let actionId = (fields.find(([name]) => name === "action_id") || [])[1];
    if (!actionId && window.crypto && crypto.randomUUID) {
      actionId = crypto.randomUUID();
      fields.push(["action_id", actionId]);
    }
    const url = submitter && submitter.hasAttribute("formaction") ? submitter.formAction : form.action;
    const item = {user, url, label: form.dataset.queue || "", fields, queued_at: new Date().toISOString(),
                  happened_at: happenedAt, page: location.pathname};
    if (actionId) item.action_id = actionId;
    return addToQueue(item).then((outcome) => {
      dirty = false;  // what was typed is stored with the action
      note(msg(outcome === "duplicate" ? "duplicate" : "saved"), "saved");
      return render();
    }, () => note(msg("not-saved"), "error")).then(() => {
      const top = box.getBoundingClientRect().top;
      if (top < 0 || top > window.innerHeight) box.scrollIntoView({block: "start"});
    });
  };

  const logoutPath = box.dataset.logout || "";
  const isLogout = (form) => !!logoutPath && pathOf(form.action) === logoutPath;

  const clearCaches = () => {
    if (!window.caches) return Promise.resolve();
    const clearing = caches.keys().then((keys) => Promise.all(
      keys.filter((key) => key.indexOf(CACHE_PREFIX) === 0).map((key) => caches.delete(key))));
    return Promise.race([clearing, new Promise((resolve) => setTimeout(resolve, 2000))]).catch(() => {});
  };

  // Logging out: the offline copies of the field pages (personal data) go; actions waiting to be sent
  // stay on the phone (after a warning) and are sent when this satgas logs in again.
  const logOut = (form) => {
    mine(QUEUE).then((queue) => queue.length, () => 0).then((waiting) => {
      if (waiting && !window.confirm(msg("logout", {n: waiting}))) return;
      clearCaches().then(() => HTMLFormElement.prototype.submit.call(form));
    });
  };

  let dirty = false;  // the satgas is filling a form: do not reload the page under their fingers
  document.addEventListener("input", (event) => { if (event.target && event.target.form) dirty = true; }, true);

  // Capture phase: runs before enhance.js' double-tap guard and any handler bound on the form itself.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || event.defaultPrevented) return;
    if (isLogout(form)) {
      event.preventDefault();
      event.stopPropagation();
      logOut(form);
      return;
    }
    if (!form.hasAttribute("data-queue") || form.method.toLowerCase() !== "post") return;
    const happenedAt = new Date().toISOString();
    const stamp = form.querySelector('input[name="happened_at"]');
    if (stamp) stamp.value = happenedAt;
    const online = navigator.onLine !== false;
    if (online && waitingCount === 0 && !flushing) return;  // online: the browser sends the form as usual
    event.preventDefault();
    event.stopPropagation();
    if (form.dataset.fqBusy) return;  // a double tap while the queue goes first
    const submitter = event.submitter;
    if (!online) {
      queueForm(form, submitter, happenedAt);
      return;
    }
    // Online while older actions still wait: they go first, in order (a handover after "berangkat").
    holdReload = true;
    form.dataset.fqBusy = "1";
    flush().then(() => mine(QUEUE)).then((queue) => {
      if (!queue.length) return submitNatively(form, submitter);
      return queueForm(form, submitter, happenedAt).then(() => {  // waits behind them
        holdReload = false;
        return flush();
      });
    }).catch(() => submitNatively(form, submitter)).then(() => {
      delete form.dataset.fqBusy;
      holdReload = false;
    });
  }, true);

  // Sends the form the ordinary way (no submit event again), with the pressed button's name and value.
  const submitNatively = (form, submitter) => {
    if (submitter && submitter.name) {
      const input = document.createElement("input");
      input.type = "hidden";
      input.name = submitter.name;
      input.value = submitter.value;
      form.appendChild(input);
    }
    HTMLFormElement.prototype.submit.call(form);
  };

  // --- Sending the queue ---------------------------------------------------------------------------
  const loginPath = pathOf(box.dataset.login || "");
  const isLoginUrl = (url) => !!loginPath && pathOf(url) === loginPath;
  const offlineCopy = document.documentElement.hasAttribute("data-offline-copy");
  const pageToken = () => {
    const input = !offlineCopy && document.querySelector('input[name="csrf_token"]');
    return input ? input.value : null;
  };

  // A CSRF token of the current session, read from the job list (null: not now; "login": logged out).
  const freshToken = () => fetch(box.dataset.scope, {credentials: "same-origin", cache: "no-store",
                                                     headers: {Accept: "text/html"}})
    .then((response) => {
      if (response.redirected && isLoginUrl(response.url)) return "login";
      if (!response.ok) return null;
      return response.text().then((html) => {
        const input = new DOMParser().parseFromString(html, "text/html").querySelector('input[name="csrf_token"]');
        return input ? input.value : null;
      });
    })
    .catch(() => null);

  // One action → {kind: "ok"|"rejected"|"retry"|"login"|"csrf", message, status, location, field}.
  const send = (item, token) => {
    const body = new FormData();
    item.fields.forEach(([name, value]) => {
      body.append(name, name === "csrf_token" && token ? token : value);
    });
    return fetch(item.url, {method: "POST", body, credentials: "same-origin", cache: "no-store",
                            headers: {Accept: "application/json"}})
      .then((response) => {
        if (response.redirected && isLoginUrl(response.url)) return {kind: "login"};
        const json = (response.headers.get("Content-Type") || "").indexOf("application/json") !== -1;
        return (json ? response.json().catch(() => null) : Promise.resolve(null)).then((data) => {
          const status = response.status;
          if (status === 401) return {kind: "login"};
          if (status === 400 && !(data && data.ok === false)) return {kind: "csrf", status};
          if (status === 408 || status === 429 || status >= 500) return {kind: "retry"};
          if (response.ok && !(data && data.ok === false)) {
            return {kind: "ok", message: data && data.message, location: data && data.location};
          }
          return {kind: "rejected", status, field: data && data.field,
                  message: (data && data.message) || msg("refused", {code: status})};
        });
      }, () => ({kind: "retry"}));
  };

  const sendAll = async () => {
    const queue = await mine(QUEUE);
    if (!queue.length) return;
    note(msg("sending"));
    const sent = [];
    let token = pageToken(), refreshed = false, stop = null, last = null;
    for (const item of queue) {
      if (navigator.onLine === false) { stop = "retry"; break; }
      let answer = await send(item, token);
      if (answer.kind === "csrf" && !refreshed) {  // the session's token changed since: fetch it and retry once
        refreshed = true;
        const fresh = await freshToken();
        if (fresh === "login") answer = {kind: "login"};
        else if (fresh) { token = fresh; answer = await send(item, token); }
        else answer = {kind: "retry"};
      }
      if (answer.kind === "csrf") answer = {kind: "rejected", status: 400, message: msg("refused", {code: 400})};
      if (answer.kind === "ok") {
        await removeFrom(QUEUE, item.seq);
        sent.push(answer.message || item.label);
        last = {item, answer};
      } else if (answer.kind === "rejected") {
        await moveToRejected(item, answer);
      } else {
        stop = answer.kind;
        break;
      }
    }
    if (stop === "login") note(msg("login"), "error");
    else if (stop === "retry") note(navigator.onLine === false ? msg("offline") : "");
    else note("");
    await render();
    if (sent.length) done(sent, last);
  };

  // After a success the page shows fresh state: reload it (once; not while the satgas is typing), or go
  // where the server says when the page was the very form that was sent.
  const done = (sent, last) => {
    const text = msg(sent.length === 1 ? "sent-one" : "sent-many", {n: sent.length});
    const recent = Date.now() - Number(session.get(RELOADED_KEY) || 0) < 5000;
    if (dirty || recent || holdReload) {
      note(text, "ok");
      return;
    }
    session.set(SENT_KEY, JSON.stringify(text));
    session.set(RELOADED_KEY, String(Date.now()));
    const target = last && last.item.page === location.pathname && last.answer.location;
    if (target && pathOf(target) !== location.pathname && pathOf(target).indexOf(box.dataset.scope) === 0) {
      location.assign(target);
    } else {
      location.reload();
    }
  };

  // One run at a time (per page, and across tabs where Web Locks exist); a call during a run gets that run.
  const flush = () => {
    if (flushing) return flushing;
    if (navigator.onLine === false) return Promise.resolve();
    const work = () => sendAll().catch(() => { /* storage trouble: try again later */ });
    const locked = navigator.locks && navigator.locks.request
      ? navigator.locks.request("eopen-field-queue", {ifAvailable: true}, (lock) => (lock ? work() : null))
      : work();
    flushing = Promise.resolve(locked).catch(() => {}).then(() => { flushing = null; });
    return flushing;
  };

  // --- Service worker: offline copies of the field pages ----------------------------------------
  const registerWorker = () => {
    if (!("serviceWorker" in navigator) || !box.dataset.sw) return;
    const firstVisit = !navigator.serviceWorker.controller;
    navigator.serviceWorker.register(box.dataset.sw, {scope: box.dataset.scope}).then(() => {
      if (!firstVisit) return;
      // This page came before the worker: hand it the page's CSS and JS, the job list and the page.
      const urls = [];
      document.querySelectorAll('link[rel="stylesheet"], script[src], link[rel="icon"]').forEach((el) => {
        urls.push(el.href || el.src);
      });
      urls.push(new URL(box.dataset.scope, location.href).href);
      if (!offlineCopy) urls.push(location.href.split("#")[0]);
      return navigator.serviceWorker.ready.then((registration) => {
        if (registration.active) registration.active.postMessage({type: "precache", urls});
      });
    }).catch(() => { /* no worker: the queue works without it */ });
  };

  // --- Start ---------------------------------------------------------------------------------------
  box.hidden = false;
  const justSent = session.get(SENT_KEY);
  if (justSent) {
    session.drop(SENT_KEY);
    try { note(JSON.parse(justSent), "ok"); } catch (e) { /* ignore */ }
  }
  if (offlineCopy) {
    const at = when(document.documentElement.getAttribute("data-offline-copy"));
    copyEl.textContent = msg(document.documentElement.hasAttribute("data-offline-fallback") ? "fallback" : "copy",
                             {time: at});
    copyEl.hidden = false;
  } else if (navigator.onLine === false) {
    note(msg("offline"));
  }
  window.addEventListener("online", () => { note(""); flush(); });
  window.addEventListener("offline", () => note(msg("offline")));
  window.addEventListener("pageshow", (event) => { if (event.persisted) render().then(flush); });
  document.addEventListener("visibilitychange", () => { if (!document.hidden) render().then(flush); });
  setInterval(() => { render().then(flush); }, FLUSH_EVERY);
  render().then(flush);
  registerWorker();
})();
