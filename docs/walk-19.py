#!/usr/bin/env python3
"""Walk linli as each role, in zh and en, at 390x844 and 1366x900, with plain WebDriver calls.

usage: walk.py BASE_URL DRIVER_URL PASSWORD OUTDIR [roles] [langs] [widths]
Writes OUTDIR/<role>-<lang>-<width>/NN-<slug>.png and OUTDIR/report.jsonl.
"""
import json, os, re, sys, urllib.request, base64, time

BASE, DRIVER, PW, OUT = sys.argv[1:5]
ROLES = (sys.argv[5] if len(sys.argv) > 5 else "admin,shegong,wangge,bumen,wuye,zhiyuan,jumin").split(",")
LANGS = (sys.argv[6] if len(sys.argv) > 6 else "zh,en").split(",")
WIDTHS = [int(w) for w in (sys.argv[7] if len(sys.argv) > 7 else "390,1366").split(",")]
MAX_PAGES = int(os.environ.get("MAX_PAGES", "60"))
PER_SHAPE = int(os.environ.get("PER_SHAPE", "1"))
SHOTS = os.environ.get("SHOTS", "1") == "1"


def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(DRIVER + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return json.loads(r.read())["value"]
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"{method} {path}: {e.read()[:500]}")


def session(width, height):
    caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
        "binary": "/usr/bin/chromium",
        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--hide-scrollbars", "--lang=zh-CN", f"--window-size={width},{height}"],
        "prefs": {"intl.accept_languages": "zh-CN,zh"}}}}}
    v = call("POST", "/session", caps)
    return v["sessionId"]


def js(sid, script, args=None):
    return call("POST", f"/session/{sid}/execute/sync", {"script": script, "args": args or []})


def go(sid, url):
    call("POST", f"/session/{sid}/url", {"url": url})


def shot(sid, path):
    # full page: resize the window to the page's height for the screenshot, then back
    png = call("GET", f"/session/{sid}/screenshot")
    with open(path, "wb") as f:
        f.write(base64.b64decode(png))


def shape(p):
    return re.sub(r"\d+", "#", p)


SKIP = re.compile(r"^/(static|logout|lang/|api/|open311)|/download|/photos/|^/me/data\.|\.csv$|\.xlsx$|format=|\.json$|/refused")

MEASURE = r"""
const de = document.documentElement;
const w = de.clientWidth;
const wide = [];
for (const el of document.body.querySelectorAll("*")) {
  const r = el.getBoundingClientRect();
  if (r.width > 0 && r.right > w + 1 && wide.length < 8) {
    let p = el.parentElement, clipped = false;
    while (p && p !== document.body) { const s = getComputedStyle(p); if (s.overflowX === 'auto' || s.overflowX === 'scroll' || s.overflowX === 'hidden') { clipped = true; break; } p = p.parentElement; }
    if (!clipped) wide.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (typeof el.className === "string" && el.className ? "." + el.className.trim().split(/\s+/).join(".") : "") + " " + Math.round(r.right));
  }
}
const small = [];
for (const el of document.querySelectorAll("main a, main button, main input, main select, nav a, summary, header button")) {
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.height === 0) continue;
  if (el.type === 'hidden') continue;
  if ((r.height < 44 || r.width < 44) && small.length < 6) {
    if (el.closest('p, td, li, dd') && el.tagName === 'A' && !el.closest('nav')) continue; // inline links in text
    small.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + " " + Math.round(r.width) + "x" + Math.round(r.height) + " " + (el.innerText || el.value || "").slice(0, 20));
  }
}
const text = document.body.innerText;
const links = [...document.querySelectorAll("a[href]")].map(a => a.getAttribute("href"));
return {scroll: de.scrollWidth, client: w, height: de.scrollHeight, title: document.title,
        h1: (document.querySelector("h1") || {}).innerText || "", text: text, links: links,
        small: small, wide: wide, lang: de.lang};
"""

KEYRE = re.compile(r"\b[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*\b")
ENRUN = re.compile(r"\b[A-Za-z][a-z]+(?:[ \-][A-Za-z][a-z]+)+\b")
CJK = re.compile(r"[\u4e00-\u9fff]{2,}")
TIMES = re.compile(r"\b\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:?\d{2}| UTC)?")


def login(sid, user):
    go(sid, BASE + "/login")
    js(sid, """document.getElementById('username').value = arguments[0];
               document.getElementById('password').value = arguments[1];
               document.getElementById('login-form').submit();""", [user, PW])
    time.sleep(0.5)


def walk(role, lang, width):
    height = 844 if width < 500 else 900
    sid = session(width, height)
    d = os.path.join(OUT, f"{role}-{lang}-{width}")
    os.makedirs(d, exist_ok=True)
    rep = open(os.path.join(OUT, "report.jsonl"), "a")
    try:
        login(sid, role)
        go(sid, BASE + f"/lang/{lang}")
        queue, seen, shapes, n = ["/"], set(), {}, 0
        while queue and n < MAX_PAGES:
            p = queue.pop(0)
            if p in seen:
                continue
            seen.add(p)
            s = shape(p.split("?")[0]) + ("?" + re.sub(r"=[^&]*", "=", p.split("?")[1]) if "?" in p else "")
            if shapes.get(s, 0) >= PER_SHAPE:
                continue
            shapes[s] = shapes.get(s, 0) + 1
            n += 1
            go(sid, BASE + p)
            time.sleep(0.3)
            try:
                m = js(sid, MEASURE)
            except RuntimeError as e:
                rep.write(json.dumps({"role": role, "lang": lang, "width": width, "path": p, "error": str(e)}) + "\n")
                continue
            slug = re.sub(r"[^a-zA-Z0-9]+", "_", p).strip("_") or "home"
            if SHOTS:
                h = min(max(m["height"], height), 3000)
                if h > height:
                    call("POST", f"/session/{sid}/window/rect", {"width": width, "height": h})
                    time.sleep(0.2)
                shot(sid, os.path.join(d, f"{n:02d}-{slug[:60]}.png"))
                if h > height:
                    call("POST", f"/session/{sid}/window/rect", {"width": width, "height": height})
            text = m["text"]
            issues = []
            if m["scroll"] > m["client"] + 1:
                issues.append(f"overflow {m['scroll']}>{m['client']}: {m['wide']}")
            keys = [k for k in KEYRE.findall(text) if not re.match(r"^(www|linli)\.|\.(png|jpg|csv|xlsx|json|com|cn|org)$", k)]
            if keys:
                issues.append(f"keys? {sorted(set(keys))[:10]}")
            if '{"' in text:
                issues.append("raw JSON")
            if lang == "zh":
                en = [r for r in ENRUN.findall(text)]
                if en:
                    issues.append(f"english? {sorted(set(en))[:10]}")
            else:
                zh = CJK.findall(text)
                if zh:
                    issues.append(f"chinese? {sorted(set(zh))[:15]}")
            t = TIMES.findall(text)
            if t:
                issues.append(f"times {sorted(set(t))[:5]}")
            if width < 500 and m["small"]:
                issues.append(f"small taps {m['small']}")
            rep.write(json.dumps({"role": role, "lang": lang, "width": width, "path": p, "title": m["title"],
                                  "h1": m["h1"], "height": m["height"], "issues": issues}, ensure_ascii=False) + "\n")
            rep.flush()
            for l in m["links"]:
                if l and l.startswith("/") and not l.startswith("//"):
                    l = l.split("#")[0]
                    if not SKIP.search(l) and l not in seen:
                        queue.append(l)
    finally:
        call("DELETE", f"/session/{sid}")
        rep.close()


for role in ROLES:
    for lang in LANGS:
        for w in WIDTHS:
            print(role, lang, w, flush=True)
            walk(role, lang, w)
