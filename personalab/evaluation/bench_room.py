"""A room of users: N browser sessions on one app at once, each chatting, then comparing."""

from __future__ import annotations

import asyncio
import os
import random
import re
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from personalab.evaluation.runs import git_commit
from personalab.evaluation.serving import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LLAMA_SERVER,
    app_process,
    llama_server,
    peak_rss_mb,
)
from personalab.models import packs
from personalab.settings import Settings

MESSAGES = (
    "What should I cook tonight?",
    "Plan my Saturday for me.",
    "How can I save money this month?",
)
COMPARE = "Which book should I read next?"
EXCHANGE_TIMEOUT_S = 3600.0  # a room of 20 on one 2-core machine waits minutes, not hours
POLL_S = 1.0
SLOTS = 4  # llama.cpp server: requests it decodes at once

# One look at the page: the reply being waited for, where it stands in line, and what is shown.
# textContent, never innerText: 20 pages polled on the app's own 2 cores must not force layouts.
_LOOK = """([page, n, whole]) => {
  const plain = (el) => el ? el.textContent.trim() : "";
  const answer = (box) => [...box.querySelectorAll('[data-testid="stMarkdownContainer"]')]
      .filter((e) => !e.closest('[data-testid="stAlert"]')
                     && !e.closest('[data-testid="stExpander"]')
                     && !e.closest('[data-testid="stCaptionContainer"]'));
  const alerts = (box) => [...box.querySelectorAll('[data-testid="stAlert"]')].map(plain);
  const out = {started: false, text: "", done: false, line: "", errors: [], said: []};
  const messages = [...document.querySelectorAll('[data-testid="stChatMessage"]')];
  out.said = messages.filter((m) => m.querySelector('[data-testid="stChatMessageAvatarUser"]'))
                     .map(plain);
  let boxes;
  if (page === "chat") {
    boxes = messages.filter((m) => m.querySelector('[data-testid="stChatMessageAvatarAssistant"]'))
                    .slice(n - 1, n);
    out.done = boxes.length === 1 && !!boxes[0].querySelector('[data-testid="stExpander"]');
    out.text = boxes.length ? answer(boxes[0]).map(plain).join(" ") : "";
  } else {
    boxes = [...document.querySelectorAll('[data-testid="stColumn"]')].filter(
      (c) => !c.closest('[data-testid="stExpander"]') && c.querySelector("strong")
             && /Generic|Personalized/.test(plain(c.querySelector("strong"))));
    out.done = boxes.length === 2 && boxes.every((c) => /first token/.test(plain(c)));
    out.text = boxes.map((c) => answer(c).slice(1).map(plain).join(" ")).join(" ");
  }
  for (const box of boxes) {
    for (const a of alerts(box)) {
      if (/ahead of you/.test(a)) out.line = a; else if (/No reply/.test(a)) out.errors.push(a);
    }
  }
  out.errors.push(...[...document.querySelectorAll('[data-testid="stException"]')].map(plain));
  out.started = out.text.replace(/[▌\\s]/g, "").length > 0;
  out.body = whole ? document.body.textContent : "";
  return out;
}"""


async def _exchange(page, kind: str, n: int, text: str, placeholder: str) -> dict:
    """Send text; time the first visible answer text and the finished reply, from the key
    press, and note each place in line the page showed meanwhile."""
    box = page.get_by_test_id("stChatInputTextArea")
    await box.wait_for(timeout=120_000)
    await page.wait_for_function(
        "(p) => document.querySelector('[data-testid=stChatInputTextArea]')?.placeholder"
        ".startsWith(p)",
        arg=placeholder,
        timeout=120_000,
    )
    await box.fill(text)
    start = time.monotonic()
    await box.press("Enter")
    row: dict = {"kind": kind, "first_s": None, "done_s": None, "lines": [], "errors": []}
    while time.monotonic() - start < EXCHANGE_TIMEOUT_S:
        look = await page.evaluate(_LOOK, [kind, n, False])
        elapsed = time.monotonic() - start
        if look["line"] and look["line"] not in row["lines"]:
            row["lines"].append(look["line"])
        if look["errors"]:
            row["errors"] = look["errors"]
            break
        if look["started"] and row["first_s"] is None:
            row["first_s"] = elapsed
        if look["done"]:
            row["done_s"] = elapsed
            row["first_s"] = row["first_s"] or elapsed
            break
        await asyncio.sleep(POLL_S)
    else:
        row["errors"] = [f"no finished reply after {EXCHANGE_TIMEOUT_S:.0f} s"]
    return compact(row)


def compact(row: dict) -> dict:
    """The places in line a row saw, as how many, the first and the last (the full list runs
    to hundreds), and the wait the first one estimated."""
    lines = [x.removeprefix("hourglass_top") for x in row.pop("lines")]  # the icon's name
    estimate = next((re.search(r"about (\d+) s", x) for x in lines if "about" in x), None)
    row["places"] = {"shown": len(lines), "first": lines[0], "last": lines[-1]} if lines else None
    row["first_estimate_s"] = int(estimate.group(1)) if estimate else None
    return row


async def _session(browser, url: str, tag: str, log: Callable[[str], None]) -> dict:
    """One person: three chat messages, then one two-column compare; what they saw."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    away: list[str] = []
    page.on("request", lambda r: away.append(r.url) if not r.url.startswith(_LOCAL) else None)
    rows, bodies, said = [], [], []
    try:
        await page.goto(url, timeout=120_000)
        for n, message in enumerate(MESSAGES, 1):
            said.append(f"{message} (This is {tag}.)")
            rows.append(await _exchange(page, "chat", n, said[-1], "Message (as"))
            log(f"{tag}: chat {n} {_brief(rows[-1])}")
        look = await page.evaluate(_LOOK, ["chat", len(MESSAGES), True])
        bodies.append(look["body"])
        shown = look["said"]
        await page.get_by_test_id("stSidebarNav").get_by_text("Compare", exact=True).click()
        said.append(f"{COMPARE} (This is {tag}.)")
        rows.append(await _exchange(page, "compare", 1, said[-1], "One message, several"))
        log(f"{tag}: compare {_brief(rows[-1])}")
        bodies.append((await page.evaluate(_LOOK, ["compare", 1, True]))["body"])
    except Exception as exc:  # a broken session is a finding, not the end of the run
        rows.append({"kind": "session", "errors": [f"{type(exc).__name__}: {exc}"]})
        shown = []
    finally:
        await context.close()
    return {"tag": tag, "rows": rows, "said": said, "shown": shown, "bodies": bodies, "away": away}


_LOCAL = ("http://127.0.0.1", "http://localhost", "data:", "blob:", "about:")


def _brief(row: dict) -> str:
    if row["errors"]:
        return f"error: {row['errors'][0][:120]}"
    first, done = row["first_s"], row["done_s"]
    shown = row["places"]["shown"] if row["places"] else 0
    return f"first {first:.1f} s, done {done:.1f} s, place in line shown {shown} times"


async def _room(url: str, sessions: int, log: Callable[[str], None]) -> list[dict]:
    from playwright.async_api import async_playwright

    tags = [f"guest {i:02d}-{random.randrange(16**4):04x}" for i in range(sessions)]
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yielding = asyncio.create_task(_yield_cpu())
        try:
            # a warm-up: the presenter has opened the app and the model is loaded
            warm = await _session_warm(browser, url)
            log(f"warm-up reply (model load included): {warm:.1f} s")
            return await asyncio.gather(*(_session(browser, url, t, log) for t in tags))
        finally:
            yielding.cancel()
            await browser.close()


async def _yield_cpu() -> None:
    """In a room the browsers run on the audience's laptops; here they share the app's cores,
    so every chromium process runs at the lowest priority (renderers start with each page)."""
    while True:
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                if (proc / "comm").read_text().strip() == "chromium":
                    os.setpriority(os.PRIO_PROCESS, int(proc.name), 19)
            except OSError:
                pass
        await asyncio.sleep(2)


async def _session_warm(browser, url: str) -> float:
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(url, timeout=120_000)
    row = await _exchange(page, "chat", 1, "Hello!", "Message (as")
    await context.close()
    return row["done_s"] or float("nan")


def summarize(results: list[dict], peak_mb: float, wall_s: float) -> dict:
    """The room's figures: times to first token and done (p50/p95), errors, the checks."""
    rows = [r for s in results for r in s["rows"]]
    ok = [r for r in rows if not r["errors"] and r.get("done_s") is not None]
    tags = [s["tag"] for s in results]
    mixed = sum(  # another session's tag on this session's pages
        any(t != s["tag"] and t in body for t in tags for body in s["bodies"]) for s in results
    )
    lost = 0  # a message this session sent that its page no longer shows
    for s in results:
        lost += sum(not any(m in x for x in s["shown"]) for m in s["said"][: len(MESSAGES)])
        lost += len(s["bodies"]) == 2 and s["said"][-1] not in s["bodies"][1]
    return {
        "sessions": len(results),
        "exchanges": len(rows),
        "finished": len(ok),
        "errors": [e for r in rows for e in r["errors"]],
        "first_s": _quantiles([r["first_s"] for r in ok]),
        "done_s": _quantiles([r["done_s"] for r in ok]),
        "waited_with_place_shown": sum(1 for r in ok if r["places"]),
        "waited_long_without_place": sum(1 for r in ok if not r["places"] and r["first_s"] > 30),
        "place_examples": sorted({r["places"]["first"] for r in ok if r["places"]})[:5],
        # how the wait a page first showed compares with the wait it had (1: exact)
        "actual_over_estimate": _quartiles(
            [r["first_s"] / r["first_estimate_s"] for r in ok if r["first_estimate_s"]]
        ),
        "lost_messages": lost,
        "mixed_sessions": mixed,  # sessions that saw another's text
        "off_machine_requests": sorted({u for s in results for u in s["away"]}),
        "peak_rss_mb": round(peak_mb),
        "wall_s": round(wall_s, 1),
    }


def _quartiles(values: list[float]) -> dict | None:
    if len(values) < 2:
        return None
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return {"q1": round(q1, 2), "median": round(q2, 2), "q3": round(q3, 2), "n": len(values)}


def _quantiles(values: list[float]) -> dict:
    if len(values) < 2:
        return {"p50": values[0] if values else None, "p95": values[0] if values else None}
    cuts = statistics.quantiles(values, n=20, method="inclusive")
    return {"p50": round(statistics.median(values), 2), "p95": round(cuts[18], 2)}


def _measure(env: dict[str, str], sessions: int, log, server_pid: int | None = None) -> dict:
    with app_process(env) as (url, proc):
        start = time.monotonic()
        results = asyncio.run(_room(url, sessions, log))
        wall = time.monotonic() - start
        peak = peak_rss_mb(proc.pid) + (peak_rss_mb(server_pid) if server_pid else 0.0)
    figures = summarize(results, peak, wall)
    figures["git_commit"] = git_commit()[:7]  # a room is long: each way is measured on its own
    figures["sessions_detail"] = results
    for s in results:
        s.pop("bodies")
    return figures


def run(
    settings: Settings, sessions: int, log: Callable[[str], None], served_by: str = "both"
) -> dict:
    """The room served by the in-process model, then by llama.cpp's server with parallel
    slots (when `make llama-server` has built it), each on a fresh memory folder."""
    if settings.gguf_path:  # PERSONALAB_GGUF_PATH: a model file of the user's own
        gguf, title, name = Path(settings.gguf_path), Path(settings.gguf_path).name, "local"
    else:
        pack = packs.PACKS[settings.model]
        gguf, title, name = packs.model_path(pack, packs.packs_dir()), pack.title, pack.name
    out: dict = {"model": title, "sessions": sessions, "max_tokens": settings.max_tokens}
    folder = Path(tempfile.mkdtemp(prefix="personalab-room-"))
    base = dict(os.environ)
    try:
        if served_by in ("both", "in-process"):
            env = {**base, "PERSONALAB_MEMORY_DIR": str(folder / "in-process")}
            log(f"room of {sessions}, in-process {title}")
            out["in_process"] = _measure(env, sessions, log)
        if served_by == "in-process":
            return out
        if not LLAMA_SERVER.is_file():
            log(f"no llama.cpp server at {LLAMA_SERVER}: run `make llama-server`")
            return out
        with llama_server(gguf, SLOTS, settings.n_ctx) as (api, server):
            env = {
                **base,
                "PERSONALAB_MEMORY_DIR": str(folder / "server"),
                "PERSONALAB_BACKEND": "openai",
                "PERSONALAB_OPENAI_BASE_URL": api,
                "PERSONALAB_OPENAI_MODEL": name,
                "PERSONALAB_OPENAI_API_KEY": "none",
                "PERSONALAB_SERVER_SLOTS": str(SLOTS),  # the rest wait in the app's line
            }
            log(f"room of {sessions}, llama.cpp server with {SLOTS} slots")
            out["server"] = _measure(env, sessions, log, server.pid)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return out


def lines(out: dict) -> list[str]:
    """The figures as a Markdown table, one row per way of serving the room."""
    text = [
        f"{out['sessions']} browser sessions at once on one app, {out['model']}, "
        f"{out['max_tokens']} tokens at most per reply; each session sends {len(MESSAGES)} "
        "chat messages, then one two-column compare. Times are from the key press, in the browser "
        "(one headless chromium, its processes at the lowest CPU priority on the app's 2 cores).",
        "",
        "| served by | finished | first token p50 / p95 | done p50 / p95 | errors "
        "| waits that showed a place in line | lost messages | mixed sessions "
        "| off-machine requests | peak RSS | the room took | actual wait / first estimate |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, label in (
        ("in_process", "in-process model, one reply at a time, first come first served"),
        ("server", f"llama.cpp server, {SLOTS} parallel slots"),
    ):
        if r := out.get(key):
            first, done = r["first_s"], r["done_s"]
            at = f" ({r['git_commit']})" if r.get("git_commit") else ""
            text.append(
                f"| {label}{at} | {r['finished']} of {r['exchanges']} | {first['p50']} s / "
                f"{first['p95']} s | {done['p50']} s / {done['p95']} s | {len(r['errors'])} "
                f"| {r['waited_with_place_shown']} | {r['lost_messages']} | {r['mixed_sessions']} "
                f"| {len(r['off_machine_requests'])} | {r['peak_rss_mb']} MiB "
                f"| {r['wall_s'] / 60:.1f} min | {_ratio(r.get('actual_over_estimate'))} |"
            )
    return text


def _ratio(q: dict | None) -> str:
    return f"median {q['median']} (quartiles {q['q1']}-{q['q3']})" if q else "-"
