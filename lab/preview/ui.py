"""La página de la vista previa (HTML, CSS y JS en un solo sitio; xterm.js llega de /vendor/, vendor.py).

A la izquierda, el texto del curso como en Killercoda (▶ Ejecutar teclea el bloque en la terminal,
Copiar copia, Comprobar ejecuta el verify.sh del paso); a la derecha, la terminal: xterm.js con su
renderizador DOM (su texto se puede leer de la página: pruebas y lectores de pantalla), conectada por
WebSocket a bash (terminal.py). Cambiar de paso no recarga la página (la terminal sigue ahí).
"""

from __future__ import annotations

import html
import json
import secrets
from typing import Any

from lab.constants import NODE_NAME

LAB_LABELS = {
    "starting": "Arrancando el laboratorio…",
    "ready": "Laboratorio listo",
    "error": "El laboratorio no arrancó",
    "no-lab": "Sin laboratorio",
    "stopping": "Apagando el laboratorio…",
    "stopped": "Laboratorio parado",
}

CSS = r"""
*{box-sizing:border-box}
html,body{margin:0;height:100%;font-family:"Roboto","Segoe UI",Helvetica,Arial,sans-serif;color:#1f2933}
body{display:flex;flex-direction:column}
#topbar{display:flex;align-items:center;gap:1rem;background:#0c2b4b;color:#fff;padding:.45rem 1rem;font-size:.95rem}
#topbar .brand{font-weight:700;white-space:nowrap}
#topbar .course{opacity:.9;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;flex:1}
#lab-state{font-size:.8rem;padding:.15rem .55rem;border-radius:1rem;background:#52606d;white-space:nowrap}
#lab-state[data-state=ready]{background:#1f9d55}
#lab-state[data-state=error]{background:#cc1f1a}
#lab-state[data-state=starting]{background:#b7791f}
#main{display:flex;flex:1;min-height:0}
#text{width:48%;min-width:22rem;display:flex;flex-direction:column;border-right:1px solid #cbd2d9;background:#fff}
#steps{display:flex;flex-wrap:wrap;gap:.25rem;padding:.5rem .9rem;border-bottom:1px solid #e4e7eb;background:#f5f7fa;margin:0;list-style:none}
#steps a{display:block;padding:.25rem .6rem;border-radius:.3rem;color:#334e68;text-decoration:none;font-size:.85rem}
#steps a[aria-current=page]{background:#0c2b4b;color:#fff}
#scroll{flex:1;overflow:auto;padding:1rem 1.4rem 2rem}
#label{font-size:.8rem;text-transform:uppercase;letter-spacing:.06em;color:#627d98;margin:0}
#title{margin:.2rem 0 1rem;font-size:1.45rem}
#content{line-height:1.55;font-size:.98rem}
#content img{max-width:100%;height:auto}
#content code{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.88em;background:#eef2f7;padding:.05rem .3rem;border-radius:.25rem}
#content pre{margin:0;padding:.7rem .8rem;overflow:auto;background:#f0f4f8;border-radius:.35rem}
#content pre code{background:none;padding:0;font-size:.86rem;white-space:pre}
.kc-block{margin:.8rem 0;border:1px solid #d9e2ec;border-radius:.4rem;position:relative}
.kc-block.kc-exec{border-left:4px solid #1f9d55}
.kc-actions{display:flex;gap:.4rem;justify-content:flex-end;padding:.3rem .4rem;border-top:1px solid #e4e7eb;background:#fafbfc;border-radius:0 0 .4rem .4rem}
button{font:inherit;font-size:.82rem;cursor:pointer;border-radius:.3rem;border:1px solid #9fb3c8;background:#fff;color:#243b53;padding:.2rem .65rem}
button:disabled{opacity:.5;cursor:not-allowed}
.kc-run{background:#1f9d55;border-color:#1f9d55;color:#fff;font-weight:600}
.kc-run.kc-done{background:#2f855a;border-color:#2f855a}
.kc-inline{white-space:nowrap}
.kc-inline .kc-run{padding:0 .35rem;margin-left:.2rem;font-size:.75rem;vertical-align:baseline}
.kc-copyable{cursor:copy}
.kc-missing{color:#cc1f1a;font-style:italic}
#warnings{display:none;background:#fffbea;border:1px solid #f7c948;border-radius:.35rem;padding:.5rem .8rem;margin-bottom:1rem;font-size:.85rem}
#warnings.show{display:block}
#error{display:none;background:#ffeeee;border:1px solid #cc1f1a;border-radius:.35rem;padding:.6rem .8rem;font-family:monospace;white-space:pre-wrap}
#error.show{display:block}
#footer{display:flex;gap:.5rem;align-items:center;padding:.6rem 1rem;border-top:1px solid #e4e7eb;background:#f5f7fa}
#footer .spacer{flex:1}
#footer a.nav{padding:.35rem .9rem;border-radius:.3rem;background:#0c2b4b;color:#fff;text-decoration:none;font-size:.9rem}
#footer a.nav.prev{background:#fff;color:#0c2b4b;border:1px solid #0c2b4b}
#check{font-size:.9rem;padding:.35rem 1rem;background:#2680c2;border-color:#2680c2;color:#fff;font-weight:600}
#check[aria-busy=true]{opacity:.7;cursor:progress}
#check-result{margin:0 1rem .6rem;padding:.55rem .8rem;border-radius:.35rem;font-size:.9rem}
#check-result[hidden]{display:none}
#check-result[data-result=ok]{background:#e3f9e5;border:1px solid #1f9d55;color:#05400a}
#check-result[data-result=fail]{background:#ffeeee;border:1px solid #cc1f1a;color:#610404}
#check-result pre{margin:.4rem 0 0;white-space:pre-wrap;font-size:.8rem;max-height:10rem;overflow:auto}
#term{flex:1;display:flex;flex-direction:column;background:#0d1117;color:#d0d7de;min-width:0}
#term-head{display:flex;gap:1rem;align-items:flex-start;justify-content:space-between;padding:.35rem .8rem;background:#161b22;color:#8b949e;font-size:.8rem}
#term-head .name{white-space:nowrap;color:#c9d1d9}
#lab-log{min-width:0;flex:1;text-align:right}
#lab-log summary{cursor:pointer;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;list-style:none}
#lab-log summary[data-kind=ok]{color:#3fb950}
#lab-log summary[data-kind=fail]{color:#ff7b72}
#lab-log pre{text-align:left;max-height:12rem;overflow:auto;margin:.3rem 0 0;white-space:pre-wrap;font-size:.75rem}
#xterm{flex:1;min-height:0;padding:.3rem 0 0 .5rem}
#toast{position:fixed;bottom:1rem;left:1rem;background:#243b53;color:#fff;padding:.4rem .8rem;border-radius:.3rem;font-size:.85rem;opacity:0;transition:opacity .2s}
#toast.show{opacity:.95}
"""

JS = r"""
(function(){
"use strict";
const D = JSON.parse(document.getElementById("preview-data").textContent);
const TOKEN = D.token;
let slug = D.page.slug, version = D.page.version, since = 0, lab = D.lab;
const $ = (id) => document.getElementById(id);

function api(path, body){
  const opts = {headers: {"X-Preview-Token": TOKEN}};
  if (body !== undefined){ opts.method = "POST"; opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
  return fetch(path, opts);
}
function toast(msg){ const t = $("toast"); t.textContent = msg; t.classList.add("show"); clearTimeout(toast.h); toast.h = setTimeout(() => t.classList.remove("show"), 1800); }
async function copy(text){
  try { await navigator.clipboard.writeText(text); }
  catch (e) { const ta = document.createElement("textarea"); ta.value = text; document.body.appendChild(ta); ta.select(); document.execCommand("copy"); ta.remove(); }
  toast("Copiado al portapapeles");
}

// ------------------------------------------------------------------ la terminal
const term = new Terminal({
  cursorBlink: true, scrollback: 5000, fontSize: 14, allowProposedApi: false,
  fontFamily: '"DejaVu Sans Mono", Menlo, Consolas, monospace',
  theme: {background: "#0d1117", foreground: "#d0d7de", cursor: "#d0d7de", selectionBackground: "#3b5070"},
});
const fit = new FitAddon.FitAddon();
term.loadAddon(fit);
term.open($("xterm"));
fit.fit();
let ws = null;
function sendResize(){ if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({type: "resize", rows: term.rows, cols: term.cols})); }
function connect(){
  const url = "ws://" + location.host + "/ws/terminal?t=" + encodeURIComponent(TOKEN) + "&rows=" + term.rows + "&cols=" + term.cols;
  const sock = ws = new WebSocket(url);
  sock.binaryType = "arraybuffer";
  $("term").dataset.connection = "connecting";
  sock.onopen = () => { $("term").dataset.connection = "open"; sendResize(); };
  sock.onmessage = (ev) => { if (typeof ev.data !== "string") term.write(new Uint8Array(ev.data)); };
  sock.onclose = (ev) => {
    if (ws !== sock) return;
    ws = null; $("term").dataset.connection = "closed";
    const why = ev.code === 4001 ? "La terminal se abrió en otra pestaña" : ev.code === 1000 ? "bash terminó" : "Sin conexión con la vista previa";
    term.write("\r\n\x1b[2m[" + why + ": pulsa Intro para abrir una terminal aquí]\x1b[0m\r\n");
  };
}
term.onData((data) => {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({type: "input", data: data}));
  else if (!ws && data === "\r") connect();
});
term.onResize(sendResize);
new ResizeObserver(() => fit.fit()).observe($("xterm"));
// Copiar y pegar: Ctrl+C con texto seleccionado (o Ctrl+Mayús+C) copia; Ctrl+V / Ctrl+Mayús+V pega
// (lo hace el navegador: xterm.js recibe el «paste»). Sin selección, Ctrl+C es el de siempre.
term.attachCustomKeyEventHandler((e) => {
  if (e.type !== "keydown" || !(e.ctrlKey || e.metaKey)) return true;
  const k = e.key.toLowerCase();
  if (k === "c" && (e.shiftKey || term.hasSelection())){ if (term.hasSelection()) copy(term.getSelection()); return false; }
  if (k === "v") return false;
  return true;
});
window.terminalText = () => {  // todo el búfer (también lo que ya salió por arriba), para quien no ve la pantalla
  const b = term.buffer.active, lines = [];
  for (let i = 0; i < b.length; i++){
    const line = b.getLine(i), next = b.getLine(i + 1);
    const text = line.translateToString(!(next && next.isWrapped));  // si sigue en la fila de abajo, con sus espacios
    if (line.isWrapped && lines.length) lines[lines.length - 1] += text; else lines.push(text);
  }
  return lines.join("\n").replace(/\s+$/, "");
};
connect();

// ------------------------------------------------------------------ la página
function setLab(state){
  lab = state; const b = $("lab-state"); b.dataset.state = state; b.textContent = D.labels[state] || state;
  const off = state !== "ready";
  document.querySelectorAll(".kc-run, #check").forEach((x) => { x.disabled = off; x.title = off ? (D.labels[state] || "") : x.dataset.title || ""; });
}
function showPage(p){
  if (p.error){
    $("error").textContent = "El curso tiene un error:\n" + p.error; $("error").classList.add("show");
    version = p.version; return;
  }
  $("error").classList.remove("show");
  if (p.slug !== slug){ $("check-result").hidden = true; $("scroll").scrollTop = 0; }
  slug = p.slug;
  $("content").innerHTML = p.html;
  if (p.steps_html !== undefined){ $("steps").innerHTML = p.steps_html; $("footer").innerHTML = p.footer_html; }
  $("title").textContent = p.title; $("label").textContent = p.label;
  document.title = p.title + " · Vista previa";
  const w = $("warnings"); w.innerHTML = "";
  (p.warnings || []).forEach((m) => { const li = document.createElement("div"); li.textContent = "⚠ " + m; w.appendChild(li); });
  w.classList.toggle("show", (p.warnings || []).length > 0);
  version = p.version;
  setLab(lab);
  document.body.dataset.version = version;
}
async function go(to, push){
  const r = await api("/api/page/" + encodeURIComponent(to));
  if (!r.ok){ toast("No se pudo abrir la página «" + to + "»"); return; }
  showPage(await r.json());
  if (push) history.pushState({slug: to}, "", "/page/" + encodeURIComponent(to) + "?t=" + encodeURIComponent(TOKEN));
}
window.addEventListener("popstate", (ev) => { if (ev.state && ev.state.slug) go(ev.state.slug, false); });
history.replaceState({slug: slug}, "", location.href);
async function poll(){
  try {
    const r = await api("/api/state?since=" + since);
    if (r.ok){
      const s = await r.json();
      for (const m of s.messages){
        since = Math.max(since, m.n);
        const st = $("term-status"); st.textContent = m.text; st.dataset.kind = m.kind;
        $("lab-lines").textContent += m.text + "\n";
      }
      if (s.lab !== lab) setLab(s.lab);
      if (s.version !== version) await go(slug, false);
    }
  } catch (e) { /* el servidor se ha parado: seguimos intentándolo */ }
  setTimeout(poll, 500);
}
function showCheck(body, status){
  const box = $("check-result"); box.hidden = false; box.innerHTML = "";
  const head = document.createElement("div"), ok = status === 200 && body.exit === 0;
  box.dataset.result = ok ? "ok" : "fail";
  head.textContent = status !== 200 ? "No se pudo comprobar: " + (body.error || status)
    : ok ? "✔ ¡Correcto! Comprobación superada: «" + body.title + "»." : "✘ Todavía no: verify.sh salió con " + body.exit + ".";
  box.appendChild(head);
  if (!ok && body.output && body.output.trim()){ const pre = document.createElement("pre"); pre.textContent = body.output; box.appendChild(pre); }
}
document.addEventListener("click", async (ev) => {
  const nav = ev.target.closest("a[data-slug]");
  if (nav && !ev.ctrlKey && !ev.metaKey && !ev.shiftKey){ ev.preventDefault(); go(nav.dataset.slug, true); return; }
  const run = ev.target.closest(".kc-run");
  if (run){
    ev.preventDefault();
    run.classList.remove("kc-done");
    const r = await api("/api/run", {block: run.dataset.block, digest: run.dataset.digest});
    const body = await r.json().catch(() => ({}));
    if (r.ok){ run.classList.add("kc-done"); term.focus(); }
    else { toast("No se pudo ejecutar: " + (body.error || r.status)); if (r.status === 409) go(slug, false); }
    return;
  }
  const cp = ev.target.closest(".kc-copy");
  if (cp){ const code = cp.closest(".kc-block").querySelector("code"); copy(code.textContent); return; }
  const cc = ev.target.closest(".kc-copyable");
  if (cc){ copy(cc.textContent); return; }
  const chk = ev.target.closest("#check");
  if (chk){
    chk.setAttribute("aria-busy", "true"); chk.textContent = "Comprobando…"; $("check-result").hidden = true;
    const r = await api("/api/check", {page: slug});
    showCheck(await r.json().catch(() => ({})), r.status);
    chk.removeAttribute("aria-busy"); chk.textContent = "Comprobar";
  }
});
if (D.page.error){ showPage(D.page); }
setLab(lab);
poll();
})();
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def chrome(page: dict[str, Any], token: str) -> dict[str, str]:
    """Los pasos de arriba y el pie (Anterior, Comprobar, Siguiente) de una página, en HTML.

    Los enlaces llevan data-slug: el JS cambia de página sin recargar (la terminal sigue conectada)."""
    q = f"?t={_e(token)}"
    steps = "".join(
        f'<li><a href="/page/{_e(p["slug"])}{q}" data-slug="{_e(p["slug"])}"'
        + (' aria-current="page"' if p["slug"] == page["slug"] else "")
        + f' title="{_e(p["label"])}">{_e(p["title"])}</a></li>'
        for p in page.get("nav", [])
    )
    footer = []
    if page.get("prev"):
        footer.append(f'<a class="nav prev" id="prev" href="/page/{_e(page["prev"])}{q}" data-slug="{_e(page["prev"])}">← Anterior</a>')
    footer.append('<span class="spacer"></span>')
    if page.get("verify"):
        footer.append('<button type="button" id="check" data-title="Ejecuta verify.sh de este paso">Comprobar</button>')
    if page.get("next"):
        text = "Empezar" if page["slug"] == "intro" else "Siguiente →"
        footer.append(f'<a class="nav next" id="next" href="/page/{_e(page["next"])}{q}" data-slug="{_e(page["next"])}">{text}</a>')
    return {"steps_html": steps, "footer_html": "".join(footer)}


def page_html(page: dict[str, Any], token: str, lab_state: str) -> tuple[str, str]:
    """La página completa y el nonce de su <script> (para la Content-Security-Policy)."""
    nonce = secrets.token_urlsafe(16)
    q = f"?t={_e(token)}"
    parts = chrome(page, token)
    warnings = "".join(f"<div>⚠ {_e(w)}</div>" for w in page.get("warnings", []))
    data = {"token": token, "page": page, "lab": lab_state, "labels": LAB_LABELS}
    data_json = json.dumps(data, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    title = page.get("title", "")
    doc = f"""<!doctype html>
<html lang="es">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{_e(title)} · Vista previa</title>
<link rel="stylesheet" href="/vendor/xterm.css{q}">
<style>{CSS}</style>
</head>
<body data-version="{_e(page.get("version", ""))}">
<header id="topbar"><span class="brand">Vista previa</span><span class="course">{_e(page.get("course_title", ""))}</span>
<span id="lab-state" data-state="{_e(lab_state)}">{_e(LAB_LABELS.get(lab_state, lab_state))}</span></header>
<div id="main">
<section id="text" aria-label="Texto del curso">
<ol id="steps">{parts["steps_html"]}</ol>
<div id="scroll">
<p id="label">{_e(page.get("label", ""))}</p>
<h1 id="title">{_e(title)}</h1>
<div id="error" role="alert"></div>
<div id="warnings" class="{"show" if warnings else ""}">{warnings}</div>
<article id="content">{page.get("html", "")}</article>
</div>
<div id="check-result" role="status" hidden></div>
<nav id="footer">{parts["footer_html"]}</nav>
</section>
<section id="term" aria-label="Terminal">
<div id="term-head"><span class="name">Terminal · {NODE_NAME}</span>
<details id="lab-log"><summary id="term-status" title="Lo que dice el laboratorio">{_e(LAB_LABELS.get(lab_state, lab_state))}</summary><pre id="lab-lines"></pre></details></div>
<div id="xterm"></div>
</section>
</div>
<div id="toast" role="status"></div>
<script type="application/json" id="preview-data">{data_json}</script>
<script src="/vendor/xterm.js{q}"></script>
<script src="/vendor/addon-fit.js{q}"></script>
<script nonce="{nonce}">{JS}</script>
</body>
</html>
"""
    return doc, nonce
