"""La página de la vista previa (HTML, CSS y JS en un solo sitio, sin ficheros estáticos aparte)."""

from __future__ import annotations

import html
import json
import secrets
from typing import Any

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
.kc-run.kc-queued{background:#b7791f;border-color:#b7791f}
.kc-run.kc-done{background:#2f855a;border-color:#2f855a}
.kc-run.kc-failed{background:#cc1f1a;border-color:#cc1f1a}
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
#check[data-result=ok]{background:#1f9d55;border-color:#1f9d55}
#check[data-result=fail]{background:#cc1f1a;border-color:#cc1f1a}
#term{flex:1;display:flex;flex-direction:column;background:#0d1117;color:#d0d7de;min-width:0}
#term-head{display:flex;justify-content:space-between;padding:.35rem .8rem;background:#161b22;color:#8b949e;font-size:.8rem}
#term-out{flex:1;overflow:auto;padding:.6rem .8rem;font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.82rem;line-height:1.35}
#term-out div,#term-out pre{margin:0;white-space:pre-wrap;word-break:break-word;font:inherit}
#term-out .cmd{color:#7ee787}
#term-out .sys{color:#8b949e}
#term-out .ok{color:#3fb950;font-weight:700}
#term-out .fail{color:#ff7b72;font-weight:700}
#term-out .exit{color:#ffa657}
#term-out .job{margin-bottom:.35rem}
#toast{position:fixed;bottom:1rem;left:1rem;background:#243b53;color:#fff;padding:.4rem .8rem;border-radius:.3rem;font-size:.85rem;opacity:0;transition:opacity .2s}
#toast.show{opacity:.95}
"""

JS = r"""
(function(){
"use strict";
const D = JSON.parse(document.getElementById("preview-data").textContent);
const TOKEN = D.token;
let slug = D.page.slug, version = D.page.version, since = 0, lab = D.lab;
const jobs = new Map();     // id de trabajo -> botón que lo lanzó
const $ = (id) => document.getElementById(id);

function api(path, body){
  const opts = {headers: {"X-Preview-Token": TOKEN}};
  if (body !== undefined){ opts.method = "POST"; opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
  return fetch(path, opts);
}
function toast(msg){ const t = $("toast"); t.textContent = msg; t.classList.add("show"); clearTimeout(toast.h); toast.h = setTimeout(() => t.classList.remove("show"), 1800); }
function termLine(cls, text, parent){
  const el = document.createElement(cls === "out" ? "pre" : "div");
  el.className = cls; el.textContent = text; (parent || $("term-out")).appendChild(el); return el;
}
function jobBox(id){
  const out = $("term-out");
  if (id === null || id === undefined) return out;
  let box = out.querySelector('[data-job="' + id + '"]');
  if (!box){ box = document.createElement("div"); box.className = "job"; box.dataset.job = id; out.appendChild(box); }
  return box;
}
async function copy(text){
  try { await navigator.clipboard.writeText(text); }
  catch (e) { const ta = document.createElement("textarea"); ta.value = text; document.body.appendChild(ta); ta.select(); document.execCommand("copy"); ta.remove(); }
  toast("Copiado al portapapeles");
}
function setLab(state, label){
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
  $("content").innerHTML = p.html;
  $("title").textContent = p.title; $("label").textContent = p.label;
  document.title = p.title + " · Vista previa";
  const w = $("warnings"); w.innerHTML = "";
  (p.warnings || []).forEach((m) => { const li = document.createElement("div"); li.textContent = "⚠ " + m; w.appendChild(li); });
  w.classList.toggle("show", (p.warnings || []).length > 0);
  version = p.version;
  setLab(lab);
  document.body.dataset.version = version;
}
async function reload(){
  const r = await api("/api/page/" + encodeURIComponent(slug));
  if (r.ok) showPage(await r.json());
}
function finishJob(id, code){
  const btn = jobs.get(id); if (!btn) return;
  jobs.delete(id);
  if (btn.id === "check"){
    btn.dataset.result = code === 0 ? "ok" : "fail";
    btn.textContent = code === 0 ? "✔ ¡Correcto!" : "✘ Todavía no";
  } else {
    btn.classList.remove("kc-queued"); btn.classList.add(code === 0 ? "kc-done" : "kc-failed");
    btn.textContent = btn.dataset.label;
  }
}
async function poll(){
  try {
    const r = await api("/api/state?since=" + since);
    if (r.ok){
      const s = await r.json();
      for (const e of s.entries){
        since = Math.max(since, e.n);
        const box = jobBox(e.job);
        if (e.kind === "end"){
          box.dataset.exit = e.exit;
          if (e.exit !== 0 && e.text === "run") termLine("exit", "(código de salida " + e.exit + ")", box);
          finishJob(e.job, e.exit);
        } else termLine(e.kind, e.text, box);
      }
      if (s.entries.length){ const o = $("term-out"); o.scrollTop = o.scrollHeight; }
      if (s.lab !== lab) setLab(s.lab);
      if (s.version !== version) await reload();
    }
  } catch (e) { /* el servidor se ha parado: seguimos intentándolo */ }
  setTimeout(poll, 500);
}
document.addEventListener("click", async (ev) => {
  const run = ev.target.closest(".kc-run");
  if (run){
    ev.preventDefault();
    run.dataset.label = run.dataset.label || run.textContent;
    run.classList.remove("kc-done", "kc-failed"); run.classList.add("kc-queued"); run.textContent = "…";
    const r = await api("/api/run", {block: run.dataset.block, digest: run.dataset.digest});
    const body = await r.json().catch(() => ({}));
    if (r.status === 202){ jobs.set(body.job, run); }
    else { run.classList.remove("kc-queued"); run.textContent = run.dataset.label; termLine("fail", "No se pudo ejecutar: " + (body.error || r.status)); if (r.status === 409) reload(); }
    return;
  }
  const cp = ev.target.closest(".kc-copy");
  if (cp){ const code = cp.closest(".kc-block").querySelector("code"); copy(code.textContent); return; }
  const cc = ev.target.closest(".kc-copyable");
  if (cc){ copy(cc.textContent); return; }
  const chk = ev.target.closest("#check");
  if (chk){
    chk.dataset.result = ""; chk.textContent = "Comprobando…";
    const r = await api("/api/check", {page: slug});
    const body = await r.json().catch(() => ({}));
    if (r.status === 202) jobs.set(body.job, chk);
    else { chk.textContent = "Comprobar"; termLine("fail", "No se pudo comprobar: " + (body.error || r.status)); }
  }
});
if (D.page.error){ showPage(D.page); }
setLab(lab);
poll();
})();
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def page_html(page: dict[str, Any], token: str, lab_state: str) -> tuple[str, str]:
    """La página completa y el nonce de su <script> (para la Content-Security-Policy)."""
    nonce = secrets.token_urlsafe(16)
    q = f"?t={_e(token)}"
    nav = "".join(
        f'<li><a href="/page/{_e(p["slug"])}{q}"'
        + (' aria-current="page"' if p["slug"] == page["slug"] else "")
        + f' title="{_e(p["label"])}">{_e(p["title"])}</a></li>'
        for p in page.get("nav", [])
    )
    footer = []
    if page.get("prev"):
        footer.append(f'<a class="nav prev" id="prev" href="/page/{_e(page["prev"])}{q}">← Anterior</a>')
    footer.append('<span class="spacer"></span>')
    if page.get("verify"):
        footer.append('<button type="button" id="check" data-title="Ejecuta verify.sh de este paso">Comprobar</button>')
    if page.get("next"):
        text = "Empezar" if page["slug"] == "intro" else "Siguiente →"
        footer.append(f'<a class="nav next" id="next" href="/page/{_e(page["next"])}{q}">{text}</a>')
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
<style>{CSS}</style>
</head>
<body data-version="{_e(page.get("version", ""))}">
<header id="topbar"><span class="brand">Vista previa</span><span class="course">{_e(page.get("course_title", ""))}</span>
<span id="lab-state" data-state="{_e(lab_state)}">{_e(LAB_LABELS.get(lab_state, lab_state))}</span></header>
<div id="main">
<section id="text" aria-label="Texto del curso">
<ol id="steps">{nav}</ol>
<div id="scroll">
<p id="label">{_e(page.get("label", ""))}</p>
<h1 id="title">{_e(title)}</h1>
<div id="error" role="alert"></div>
<div id="warnings" class="{"show" if warnings else ""}">{warnings}</div>
<article id="content">{page.get("html", "")}</article>
</div>
<nav id="footer">{"".join(footer)}</nav>
</section>
<section id="term" aria-label="Terminal">
<div id="term-head"><span>Terminal · controlplane</span><span>solo lectura: usa los botones ▶ Ejecutar</span></div>
<div id="term-out" role="log" aria-live="polite"></div>
</section>
</div>
<div id="toast" role="status"></div>
<script type="application/json" id="preview-data">{data_json}</script>
<script nonce="{nonce}">{JS}</script>
</body>
</html>
"""
    return doc, nonce
