"""Evaluate page: run recall, preference, win-rate, LoCoMo or group evaluations; compare runs."""

import streamlit as st

from app_pages.ui import eval_view, resources, sidebar, stage
from app_pages.ui.details import plain
from personalab import PersonaLabError
from personalab.compose import judge_from_settings
from personalab.evaluation import TASKS, harness, runs

ctx = sidebar.context()
state = st.session_state
st.title("Evaluate")
st.caption(
    "Put a number on what the demo shows, on your own model, in minutes. Runs are saved with "
    "their settings, model, data set and git commit; pick two to put them side by side."
)

HELP = {
    "recall": "Is what answers each probe question in the prompt (recall, MRR), per retrieval "
    "setting; every persona's probes and the preference probes.",
    "preference": "A preference said first, then 10, 70 or 300 ordinary turns, then a question "
    "where it matters: does the reply follow it? Generic and personalized.",
    "winrate": "Generic vs personalized on each persona's probe questions: the judge decides "
    "(positions swapped) when one is set up, else the persona's checks.",
    "locomo": "LoCoMo turn-evidence recall at k = 5, 10, 25, 50 per question category.",
    "group": "One question for 2-4 personas (the group probes, test split): generic, each "
    "member alone, and the group answer with and without the guard, each checked against "
    "every member's hard constraints; and whether the checks found the clashes.",
}
left, right = st.columns([1, 2])
task = left.radio("Evaluation", TASKS, key="eval_task")
right.write(HELP[task])
default = {"recall": 0, "locomo": 2}.get(task, 5)
limit = right.number_input("Sample (items per set; 0 = all)", 0, 1000, default, key="eval_limit")
data = ""
if task == "locomo":
    data = right.text_input("LoCoMo data (locomo10.json)", value=eval_view.LOCOMO, key="eval_data")

job = state.get("eval_job")
running = job is not None and job["thread"].is_alive()
if not running and st.button("Run", type="primary", icon=":material/play_arrow:"):
    try:
        judge = judge_from_settings(ctx.settings)
        work = harness.Workspace(
            resources.embedder(ctx.settings),
            ctx.settings,
            resources.engine(ctx.settings).backend
            if task in ("preference", "winrate", "group")
            else None,
            judge,
        )
    except PersonaLabError as exc:
        st.error(plain(str(exc)), icon=":material/error:")
        st.stop()
    options = {"limit": int(limit) or None}
    if task == "locomo":
        options["data"] = eval_view.Path(data)
    meta = runs.describe(
        ctx.settings,
        model=work.backend.name if work.backend else "",
        judge=judge.backend.name if judge else "",
        data=data or "built-in probes",
    )
    state["eval_job"] = eval_view.start(task, work, options, meta)
    st.rerun()
eval_view.progress()
eval_view.saved_runs()
st.subheader("Blind votes from Compare")
stage.vote_tally(ctx.settings)
