"""Course copies: a link new to the tool takes the module set up on the link it was copied from.

Module and marking settings chosen in the picker for an existing link live only in the tool's
database, so a copied course (a new context) would otherwise ask again. The source is found by
the same resource link id in another course of the same deployment (platforms that keep link
ids on copy), or by the ids the platform lists in the ``resource_link_id_history`` custom
parameter (the LTI variable ``$ResourceLink.id.history``, which the tool's Canvas configuration
asks for). Attempts never carry over: they belong to the old course's link.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..models import Context, ResourceLink

HISTORY = "resource_link_id_history"


def earlier_ids(link: ResourceLink) -> list[str]:
    """Ids the link may have been copied from, nearest first."""
    raw = (link.custom or {}).get(HISTORY)
    # A platform that cannot substitute the variable sends its name: "$ResourceLink.id.history".
    history = [] if not isinstance(raw, str) or raw.startswith("$") else \
        [part.strip() for part in raw.split(",") if part.strip()]
    return [link.resource_link_id, *history]


def inherit_copied_setup(session: Session, deployment_id: int, link: ResourceLink) -> bool:
    """Give a link without a module the module and settings of its source; whether it did."""
    if link.module_id or link.settings or (link.custom or {}).get("module"):
        return False  # set up already (deep-linked links carry their module in custom)
    for earlier in earlier_ids(link):
        source = session.execute(
            select(ResourceLink.module_id, ResourceLink.settings).join(Context)
            .where(Context.deployment_id == deployment_id,
                   ResourceLink.resource_link_id == earlier[:255],
                   ResourceLink.id != link.id, ResourceLink.module_id.is_not(None))
            .order_by(ResourceLink.id.desc()).limit(1)).first()
        if source is None:
            continue
        # Only a link still without a module takes it: a lecturer's own choice is never undone.
        session.execute(update(ResourceLink).where(ResourceLink.id == link.id,
                                                   ResourceLink.module_id.is_(None))
                        .values(module_id=source.module_id, settings=dict(source.settings or {}))
                        .execution_options(synchronize_session=False))
        link.module_id, link.settings = source.module_id, dict(source.settings or {})
        return True
    return False
