"""The subscribe button of the pages (``POST /subscribe``, ``POST /unsubscribe``): a signed-in
reader follows the page or the unit they are looking at (see :mod:`chiso.subscriptions`)."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form
from fastapi.responses import RedirectResponse
from jinja2 import pass_context
from sqlalchemy.orm import Session

from chiso import db
from chiso.auth.permissions import Actor
from chiso.http.deps import get_db, get_user_actor
from chiso.subscriptions import service as subscriptions

router = APIRouter()


@pass_context
def subscription_for(context, kind: str, target: str) -> dict | None:
    """The reader's active subscription to this page or unit (for the button), or None."""
    request = context.get("request")
    actor = context.get("actor")
    if request is None or actor is None or actor.is_public or actor.user_id is None:
        return None
    with db.transaction(request.app.state.engine) as session:
        return subscriptions.current(session, actor=actor, kind=kind, target=target)


def _back(next_url: str) -> str:
    """Only a path of this site (never another host) to go back to."""
    parts = urlsplit(next_url or "/")
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return "/"
    return parts.path + (f"?{parts.query}" if parts.query else "")


@router.post("/subscribe")
def subscribe(kind: str = Form(...), target: str = Form(..., max_length=64), frequency: str = Form("daily"),
              alerts: str = Form(""), next_url: str = Form("/", alias="next", max_length=2000),
              actor: Actor = Depends(get_user_actor), session: Session = Depends(get_db, scope="function")):
    subscriptions.subscribe(session, actor=actor, kind=kind, target=target, frequency=frequency,
                            alerts=alerts == "on" or frequency == "off")
    return RedirectResponse(_back(next_url), status_code=303)


@router.post("/unsubscribe")
def unsubscribe(kind: str = Form(...), target: str = Form(..., max_length=64),
                next_url: str = Form("/", alias="next", max_length=2000),
                actor: Actor = Depends(get_user_actor), session: Session = Depends(get_db, scope="function")):
    subscriptions.unsubscribe(session, actor=actor, kind=kind, target=target)
    return RedirectResponse(_back(next_url), status_code=303)
