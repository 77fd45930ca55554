"""The Evaluate page's parts: a run in the background with progress and cancel; saved runs."""

from __future__ import annotations

import threading
from pathlib import Path

import pandas as pd
import streamlit as st

from app_pages.ui.details import plain
from personalab.evaluation import common, harness, runs

LOCOMO = str(common.LOCOMO)


def start(task: str, work: harness.Workspace, options: dict, meta: dict) -> dict:
    """Run a task in a thread; its rows are saved only if it finishes."""
    job = harness.Job()
    record = {"task": task, "job": job, "error": None, "saved": None}

    def work_it() -> None:
        try:
            rows = harness.run(task, work, job, **options)
            record["saved"] = runs.save(task, rows, meta)
        except harness.Cancelled:
            record["error"] = "cancelled: nothing was saved"
        except Exception as exc:  # shown on the page; a failed run saves nothing either
            record["error"] = f"{type(exc).__name__}: {exc}"

    record["thread"] = threading.Thread(target=work_it, daemon=True, name=f"eval-{task}")
    record["thread"].start()
    return record


@st.fragment(run_every=1.0)
def progress() -> None:
    """The running job's progress bar, time left and cancel button (refreshed every second)."""
    record = st.session_state.get("eval_job")
    if record is None:
        return
    job: harness.Job = record["job"]
    if record["thread"].is_alive():
        share = job.done / job.total if job.total else 0.0
        left = job.seconds_left
        eta = f", about {left:.0f} s left" if left is not None else ""
        st.progress(share, text=f"{record['task']}: {job.done} of {job.total or '?'}{eta}")
        if st.button("Cancel", icon=":material/stop:", key="eval_cancel"):
            job.cancel()
        return
    if record["error"]:
        st.warning(f"The run stopped: {plain(record['error'])}", icon=":material/warning:")
    elif record["saved"]:
        st.success(f"Saved {plain(Path(record['saved']).name)}", icon=":material/check_circle:")
        st.session_state.pop("eval_job")
        st.rerun(scope="app")


def saved_runs(folder: Path = runs.RUNS_DIR) -> None:
    """Saved runs as tables and charts; two of the same task side by side."""
    found = runs.load_runs(folder)
    st.subheader("Saved runs")
    if not found:
        st.info("No run saved yet.")
        return
    labels = {r["path"]: f"{Path(r['path']).stem} · {r['meta'].get('model') or ''}" for r in found}
    chosen = st.multiselect(
        "Runs to show (two of one task compare side by side)",
        list(labels),
        default=list(labels)[:1],
        format_func=labels.get,
        max_selections=2,
    )
    picked = [r for r in found if r["path"] in chosen]
    for box, record in zip(st.columns(max(1, len(picked))), picked, strict=False):
        with box:
            show_run(record)


def show_run(record: dict) -> None:
    meta = record["meta"]
    st.markdown(f"**{plain(record['task'])}** · {plain(Path(record['path']).stem)}")
    st.caption(
        plain(
            f"model {meta.get('model') or 'none'} · judge {meta.get('judge') or 'none'}"
            f" · data {meta.get('data', '')} · commit {meta.get('git_commit', '')[:10]}"
        )
    )
    rows = [r for r in record["rows"] if r.get("summary")] or record["rows"]
    frame = pd.DataFrame(rows)
    if record["task"] == "locomo":
        frame = frame[frame["split"] == frame["split"].iloc[-1]]
        st.bar_chart(frame, x="k", y="recall", color="method", stack=False)
        cats = pd.DataFrame(
            [
                {"method": r["method"], "k": r["k"], "category": c, "recall": v}
                for r in frame.to_dict("records")
                for c, v in r["by_category"].items()
            ]
        )
        st.bar_chart(cats[cats["k"] == 10], x="category", y="recall", color="method", stack=False)
    elif record["task"] == "recall":
        st.bar_chart(frame, x="setting", y="recall", color="set", stack=False)
    elif record["task"] == "preference":
        st.line_chart(frame, x="distractors", y="followed", color="kind")
    elif record["task"] == "winrate":
        st.bar_chart(frame, x="persona", y="rate")
    st.dataframe(frame.drop(columns=["summary"], errors="ignore"), hide_index=True)
