"""Drive the module player as a browser without JavaScript would: read forms, submit them."""

from __future__ import annotations

from .forms import csrf, forms


def launch_id_of(path: str) -> str:
    """The launch id in a player URL such as /l/<launch>/step/3."""
    return path.split("/")[2]


def begin(client, launch_id: str):
    """Open the activity and press "Start the module" (or "Try again"); the POST's response."""
    page = client.get(f"/l/{launch_id}/", follow_redirects=True)
    html = page.get_data(as_text=True)
    form = next(f for f in forms(html) if f["action"].endswith(("/start", "/retry")))
    return client.post(form["action"], data=form["fields"])


def step_fields(client, launch_id: str, index: int) -> dict:
    """The hidden fields of a step's form (CSRF token, attempt number, scenario point)."""
    html = client.get(f"/l/{launch_id}/step/{index}").get_data(as_text=True)
    form = next(f for f in forms(html) if f["method"] == "post" and "attempt" in f["fields"])
    return {k: v for k, v in form["fields"].items() if k in ("csrf_token", "attempt", "at")}


def answer(client, launch_id: str, index: int, data: dict):
    """Answer a step from a freshly loaded page, as a student would."""
    url = f"/l/{launch_id}/step/{index}"
    return client.post(url, data={**step_fields(client, launch_id, index), **data})


def submit(client, launch_id: str):
    """Submit from the review page."""
    html = client.get(f"/l/{launch_id}/review").get_data(as_text=True)
    form = next(f for f in forms(html) if f["action"].endswith("/submit"))
    return client.post(form["action"], data=form["fields"]), form["fields"]


def take_all(client, launch_id: str, module, overrides: dict | None = None) -> None:
    """Answer every step of ``module`` (best answers unless overridden)."""
    overrides = overrides or {}
    ratings = {f"rating-{s.id}": "3" for s in module.confidence.statements}
    assert answer(client, launch_id, 0, ratings).status_code == 302
    for index, item in enumerate(module.steps, start=1):
        if not hasattr(item, "score"):
            continue
        given = overrides.get(item.id, item.best_answer())
        if item.type == "scenario":
            for choice in given:
                assert answer(client, launch_id, index, {"choice": choice}).status_code == 302
        elif item.type == "reflection":
            text = given if item.id in overrides else " ".join(["word"] * (item.min_words + 5))
            assert answer(client, launch_id, index, {"text": text}).status_code == 302
        else:
            assert answer(client, launch_id, index, {"choice": given}).status_code == 302
    last = len(module.steps) + 1
    assert answer(client, launch_id, last, ratings).status_code == 302




def land(client, location: str):
    """Follow a launch's redirect to the player; on a module's start page, press Start."""
    page = client.get(location, follow_redirects=True)
    if "Start the module" not in page.get_data(as_text=True):
        return page
    started = begin(client, launch_id_of(page.request.path))
    return client.get(started.headers["Location"], follow_redirects=True)


__all__ = ["answer", "begin", "csrf", "land", "launch_id_of", "step_fields", "submit", "take_all"]
