// The chat on any page: <script src="https://…/widget.js" data-lang="fi" defer></script>
// adds a button that opens the chat (this server's page, in a frame) in a panel.
(() => {
  "use strict";
  const LABELS = {{ labels }};
  const DEFAULT_LANGUAGE = {{ default }};
  const script = document.currentScript;
  if (!script) return;
  const origin = new URL(script.src).origin;
  const wanted = (script.dataset.lang || navigator.language || "").slice(0, 2).toLowerCase();
  const lang = LABELS[wanted] ? wanted : DEFAULT_LANGUAGE;
  const words = LABELS[lang];

  const launcher = document.createElement("button");
  launcher.type = "button";
  launcher.textContent = words.open_chat;
  launcher.setAttribute("aria-expanded", "false");
  Object.assign(launcher.style, {
    position: "fixed", right: "1rem", bottom: "1rem", zIndex: "2147483000",
    font: "inherit", fontSize: "1rem", padding: ".75rem 1rem", borderRadius: "2rem",
    border: "2px solid #ffffff", background: "#0b3d91", color: "#ffffff", cursor: "pointer",
    boxShadow: "0 2px 8px rgba(0,0,0,.35)",
  });

  const panel = document.createElement("div");
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", words.title);
  panel.hidden = true;
  Object.assign(panel.style, {
    position: "fixed", right: "1rem", bottom: "5rem", zIndex: "2147483001",
    width: "min(26rem, calc(100vw - 2rem))", height: "min(40rem, calc(100vh - 6rem))",
    background: "#ffffff", border: "1px solid #767676", borderRadius: ".75rem",
    boxShadow: "0 4px 16px rgba(0,0,0,.35)", overflow: "hidden",
    display: "flex", flexDirection: "column",
  });
  const close = document.createElement("button");
  close.type = "button";
  close.textContent = words.close;
  Object.assign(close.style, {
    alignSelf: "flex-end", margin: ".25rem", font: "inherit", padding: ".4rem .8rem",
    border: "2px solid #0b3d91", borderRadius: ".4rem", background: "#ffffff", color: "#0b3d91",
    cursor: "pointer",
  });
  let frame = null;

  function open() {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.src = `${origin}/?embed=1&lang=${encodeURIComponent(lang)}`;
      frame.title = words.title;
      Object.assign(frame.style, { flex: "1", width: "100%", border: "0" });
      panel.append(frame);
    }
    panel.hidden = false;
    panel.style.display = "flex";
    launcher.setAttribute("aria-expanded", "true");
    frame.focus();
  }

  function shut() {
    panel.hidden = true;
    panel.style.display = "none";
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }

  launcher.addEventListener("click", () => (panel.hidden ? open() : shut()));
  close.addEventListener("click", shut);
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") shut();
  });
  panel.style.display = "none";
  panel.append(close);
  document.body.append(panel, launcher);
})();
