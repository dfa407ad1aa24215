"""Route table of the lecturer's module picker: deep linking, and setting up an existing link."""

from __future__ import annotations

import logging

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from ..attempts import lifecycle
from ..attempts.settings import link_settings
from ..content import ModuleNotFound
from ..db import get_session
from ..errors import render_problem
from ..governance import audit
from ..keys import Keyring, KeyringError
from ..library import get_library
from ..lti import roles
from ..lti.constants import MessageType
from ..lti.current import current_launch
from ..lti.urls import tool_urls
from ..models import DeepLinkResponse, Launch, ResourceLink
from . import bp
from . import deeplinking as dl

log = logging.getLogger(__name__)


def _lecturer_launch(launch_id: str) -> Launch:
    """The launch in the URL, if it is this browser's and a lecturer's; else a 403 page."""
    launch = current_launch(launch_id)
    if not roles.is_staff(launch.roles):
        log.info("launch %s (roles %s) refused the module picker", launch.id, launch.roles)
        abort(make_response(render_problem(
            403, "Only lecturers can choose modules",
            "Choosing modules and how they are marked is for the lecturers of this course. "
            "If you are a student, go back to your course and open an activity from there.")))
    return launch


def _link(launch: Launch) -> ResourceLink:
    """The activity link being set up; a 404 page for a launch without one."""
    if launch.resource_link is None:
        abort(404, "There is nothing to choose modules for here: open an activity from your "
                   "course, or add one with your learning environment's activity picker.")
    return launch.resource_link


@bp.route("/i/<launch_id>/modules", methods=["GET", "POST"])
def pick(launch_id: str) -> ResponseReturnValue:
    """The picker: every module with a preview, filters, and the marking settings per module."""
    launch = _lecturer_launch(launch_id)
    db = get_session()
    deep = launch.message_type == MessageType.DEEP_LINKING.value
    if deep:
        try:
            dl_request = dl.request_of(launch)
        except dl.DeepLinkingProblem as problem:
            log.warning("deep linking request refused: %s", problem.reason)
            return render_problem(problem.status, "This request cannot be answered",
                                  problem.message)
        sent = dl.sent_response(db, launch)
        if sent is not None:
            return _already_sent(launch, sent)
        multiple = dl_request.accept_multiple
    else:
        _link(launch)  # a 404 page when there is no activity to set up
        multiple = False

    library = get_library()
    framework = dl.dcs(library)
    try:
        domain, element = dl.check_filter(framework, request.args.get("domain"),
                                          request.args.get("element"))
    except dl.BadFilter as exc:
        log.info("picker filter refused: %s", exc)
        return render_problem(400, "That filter does not exist", str(exc))
    all_cards = dl.cards(library)
    errors: list[str] = []
    if request.method == "POST":
        try:
            choices = dl.parse_choices(request.form, all_cards, multiple=multiple)
        except dl.InvalidChoices as exc:
            errors = exc.errors
            log.info("picker choices refused on launch %s: %s", launch.id, exc)
        else:
            return _send(launch, choices, all_cards) if deep else _save(launch, choices[0])
        chosen = dl.chosen_ids(request.form)
        values = dl.submitted_values(request.form, all_cards)
    else:
        chosen, values = _initial(launch, all_cards, deep)
    shown = dl.filter_cards(all_cards, domain, element)
    # Modules already ticked stay on the form even when the filter hides them.
    listed = shown + [c for c in all_cards if c.module.id in chosen and c not in shown]
    # Changing an activity's module after students have started it: say what happens first.
    usage = (0, 0) if deep else lifecycle.link_usage(get_session(), _link(launch).id)
    return render_template(
        "instructor/picker.html", launch=launch, deep=deep, multiple=multiple, usage=usage,
        framework=framework, domain=domain, element=element, cards=listed,
        shown_count=len(shown), total=len(all_cards), chosen=chosen, values=values,
        errors=errors, counting=dl.COUNTING, marking=dl.MARKING,
        domain_titles={d.id: d.title for d in framework.domains}), 400 if errors else 200


def _initial(launch: Launch, all_cards: list[dl.ModuleCard],
             deep: bool) -> tuple[list[str], dict[str, dict[str, str]]]:
    """Starting form: each module's defaults; an existing link shows its current settings."""
    values = {c.module.id: dl.default_values(c) for c in all_cards}
    if deep:
        return [], values
    settings = link_settings(_link(launch))
    for card in all_cards:
        if card.module.id == settings.module_id:
            values[card.module.id] = dl.values_for_link(card, settings)
    return ([settings.module_id] if settings.module_id else []), values


def _send(launch: Launch, choices: list[dl.Choice],
          all_cards: list[dl.ModuleCard]) -> ResponseReturnValue:
    """Sign and record the response, then hand it to the browser to post to the platform."""
    db = get_session()
    try:
        token = dl.send(db, launch, choices, all_cards,
                        Keyring(current_app.config["KEYS_DIR"]),
                        tool_urls(current_app.config["BASE_URL"])["launch"])
    except dl.AlreadySent as exc:
        db.rollback()
        return _already_sent(launch, exc.response or dl.sent_response(db, launch))
    except KeyringError as exc:
        db.rollback()
        log.error("cannot sign a deep linking response: %s", exc)
        return render_problem(503, "The tool cannot sign its answer yet",
                              "The tool's keys are not set up, so nothing was sent to your "
                              "course. Your administrator must run `lti-tool keys generate`.")
    db.commit()
    return render_template("instructor/deep_link_return.html", launch=launch, token=token,
                           return_url=dl.request_of(launch).return_url, choices=choices)


def _save(launch: Launch, choice: dl.Choice) -> ResponseReturnValue:
    """An existing link: store the module and its settings on the link itself."""
    link = _link(launch)
    dl.apply_to_link(link, choice)
    audit.record(get_session(), audit.lti_actor(launch.user), "link.module",
                 f"link#{link.id}",
                 {"module_id": choice.module_id, "settings": choice.settings()})
    get_session().commit()
    log.info("link %s now delivers %s with %s", link.id, choice.module_id,
             choice.settings())
    flash(f"Saved: this activity now delivers “{choice.title}”.")
    return redirect(url_for("lti.landing", launch_id=launch.id))


def _already_sent(launch: Launch, sent: DeepLinkResponse | None) -> ResponseReturnValue:
    """A replayed picker: say what was sent and how to add more."""
    return render_template("instructor/already_sent.html", launch=launch, sent=sent), 409


@bp.get("/i/<launch_id>/modules/<module_id>/preview")
def preview(launch_id: str, module_id: str) -> ResponseReturnValue:
    """A module's first page, outcomes and outline, as students will see them."""
    launch = _lecturer_launch(launch_id)
    try:
        module = get_library().get(module_id)
    except ModuleNotFound:
        abort(404, "There is no module with that name; go back to the list of modules.")

    def asset(rel: str) -> str:
        return url_for("learner.asset", launch_id=launch.id, module_id=module.id,
                       version=module.version, path=rel)

    first = module.pages[0].render(asset) if module.pages else None
    return render_template("instructor/preview.html", launch=launch, module=module,
                           first=first, back=url_for("instructor.pick", launch_id=launch.id))
