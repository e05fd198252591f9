// The web chat page: what the bot sends, built with DOM calls from the server's tree of
// allowed tags (never parsed as HTML); typed text and button presses go back as JSON.
"use strict";
(() => {
  const log = document.getElementById("log");
  const status = document.getElementById("status");
  const composer = document.getElementById("composer");
  const box = document.getElementById("text");
  const claim = document.getElementById("claim");
  const haveCode = document.getElementById("have-code");
  const askedLang = new URLSearchParams(location.search).get("lang");
  const TAGS = new Set(["b", "i", "u", "s", "code", "pre", "blockquote", "span"]);
  let csrf = "";
  let seq = 0;
  let ui = {};
  let polling = false;

  class Refusal extends Error {}

  function say(text, isError) {
    status.textContent = text || "";
    status.classList.toggle("error", Boolean(isError));
  }

  function setLanguage(lang, strings) {
    if (lang) document.documentElement.lang = lang;
    if (!strings) return;
    ui = strings;
    document.title = ui.title;
    for (const el of document.querySelectorAll("[data-ui]")) {
      el.textContent = ui[el.dataset.ui];
    }
  }

  async function call(path, body) {
    let response;
    try {
      response = await fetch(path, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          "X-CSRF-Token": csrf,
          "Accept-Language": document.documentElement.lang,
        },
        body: JSON.stringify(body),
      });
    } catch (error) {
      throw new Refusal(ui.offline);
    }
    let data = {};
    try { data = await response.json(); } catch (error) { data = {}; }
    if (!response.ok) throw new Refusal(data.message || ui.offline);
    return data;
  }

  function build(nodes, parent) {
    for (const node of nodes) {
      if (typeof node === "string") {
        parent.append(document.createTextNode(node));
        continue;
      }
      let el;
      if (node.t === "a" && /^(https?:|mailto:|tel:)/i.test(node.href || "")) {
        el = document.createElement("a");
        el.href = node.href;
        el.rel = "noopener noreferrer";
        el.target = "_blank";
      } else if (node.t === "spoiler") {
        el = document.createElement("span");
        el.className = "spoiler";
      } else if (TAGS.has(node.t)) {
        el = document.createElement(node.t);
      } else {
        el = document.createElement("span");
      }
      build(node.c || [], el);
      parent.append(el);
    }
  }

  function hidden(text) {
    const span = document.createElement("span");
    span.className = "visually-hidden";
    span.textContent = text;
    return span;
  }

  function showMessage(m) {
    let el = document.getElementById(`msg-${m.id}`);
    const fresh = !el;
    if (fresh) {
      el = document.createElement("div");
      el.id = `msg-${m.id}`;
      el.className = "msg bot";
    }
    const text = document.createElement("div");
    text.className = "text";
    build(m.html, text);
    const parts = [hidden(`${ui.assistant}: `), text];
    if (m.file) {
      const link = document.createElement("a");
      link.className = "file";
      link.href = m.file.url;
      link.download = m.file.name;
      link.textContent = ui.download.replace("{name}", m.file.name);
      parts.push(link);
    }
    if (m.buttons && m.buttons.length) {
      const group = document.createElement("div");
      group.className = "buttons";
      for (const row of m.buttons) {
        const line = document.createElement("div");
        line.className = "row";
        for (const b of row) {
          let control;
          if (b.data !== undefined) {
            control = document.createElement("button");
            control.type = "button";
            control.addEventListener("click", () => press(m.id, b.data));
          } else {
            control = document.createElement("a");
            control.href = /^https?:/i.test(b.url) ? b.url : "#";
            control.rel = "noopener noreferrer";
            control.target = "_blank";
          }
          control.textContent = b.label;
          line.append(control);
        }
        group.append(line);
      }
      parts.push(group);
    }
    const hadFocus = el.contains(document.activeElement);
    el.replaceChildren(...parts);
    if (fresh) log.append(el);
    if (hadFocus) box.focus();  // the pressed button is gone: keep focus somewhere useful
    return el;
  }

  function showOwn(e) {
    const el = document.createElement("div");
    el.className = "msg mine";
    el.id = `own-${e.id}`;
    const text = document.createElement("div");
    text.className = "text";
    text.textContent = e.text;
    el.append(hidden(`${ui.you}: `), text);
    log.append(el);
  }

  function showNotice(text) {
    const el = document.createElement("div");
    el.className = "msg notice";
    el.textContent = text;
    log.append(el);
  }

  function apply(events) {
    let newest = null;
    const before = log.children.length;
    for (const e of events) {
      if (e.seq !== undefined) {
        if (e.seq <= seq) continue;
        seq = e.seq;
      }
      if (e.kind === "message") newest = showMessage(e.message);
      else if (e.kind === "mine" && !document.getElementById(`own-${e.id}`)) showOwn(e);
      else if (e.kind === "delete") document.getElementById(`msg-${e.id}`)?.remove();
      else if (e.kind === "notice") {
        if (e.alert) showNotice(e.text);
        else say(e.text);
      }
    }
    // Show the start of what came (a long answer is read from its top), else the end.
    const first = log.children[before];
    log.scrollTop = first ? first.offsetTop - 8 : log.scrollHeight;
    return newest;
  }

  function focusAfter(newest) {
    const first = newest && newest.querySelector(".buttons button");
    (first || box).focus();
  }

  function answered(data) {
    setLanguage(data.lang, data.ui);
    const newest = apply(data.events || []);
    if (data.erased) {
      csrf = data.csrf;
      seq = 0;
    }
    if (!polling && !data.erased) poll();
    return newest;
  }

  async function send(text, echo) {
    say(ui.working);
    try {
      const data = await call("/api/send", { text, lang: askedLang, echo });
      say("");
      return answered(data);
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      say(error.message, true);
      return undefined;
    }
  }

  async function press(messageId, data) {
    say(ui.working);
    try {
      const reply = await call("/api/press", { message_id: messageId, data });
      say("");
      focusAfter(answered(reply));
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      say(error.message, true);
    }
  }

  async function poll() {
    polling = true;
    while (polling) {
      try {
        const response = await fetch(`/api/events?after=${seq}`, { credentials: "same-origin" });
        if (!response.ok) {
          polling = response.status !== 403;
          await new Promise((r) => setTimeout(r, 5000));
          continue;
        }
        apply((await response.json()).events);
      } catch (error) {
        await new Promise((r) => setTimeout(r, 3000));
      }
    }
  }

  async function start() {
    const query = askedLang ? `?lang=${encodeURIComponent(askedLang)}` : "";
    const response = await fetch(`/api/state${query}`, { credentials: "same-origin" });
    const state = await response.json();
    csrf = state.csrf;
    seq = 0;
    setLanguage(state.lang, state.ui);
    log.replaceChildren();
    apply(state.history);
    seq = state.seq;
    if (!state.known) {
      await send("/start", false);
    } else if (state.history.length === 0) {
      showNotice(ui.welcome_back);
      if (!polling) poll();
    } else if (!polling) {
      poll();
    }
  }

  composer.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = box.value.trim();
    if (!text) return;
    const newest = await send(text, true);
    if (newest !== undefined) box.value = "";  // focus stays here: people who type go on typing
  });

  box.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      composer.requestSubmit();
    }
  });

  document.getElementById("device").addEventListener("click", async () => {
    try {
      const data = await call("/api/device-code", {});
      showNotice(ui.code_shown.replace("{code}", data.code).replace("{minutes}", data.minutes));
      log.scrollTop = log.scrollHeight;
      if (!polling) poll();
    } catch (error) {
      say(error.message, true);
    }
  });

  haveCode.addEventListener("click", () => {
    claim.hidden = !claim.hidden;
    haveCode.setAttribute("aria-expanded", String(!claim.hidden));
    if (!claim.hidden) document.getElementById("code").focus();
  });

  claim.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const data = await call("/api/device-claim", { code: document.getElementById("code").value });
      csrf = data.csrf;
      claim.hidden = true;
      haveCode.setAttribute("aria-expanded", "false");
      await start();
      say(ui.code_taken);
      box.focus();
    } catch (error) {
      say(error.message, true);
    }
  });

  start().catch(() => say(ui.offline || "…", true));
})();
