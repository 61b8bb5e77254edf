"""The audit trail in words: what each action code, object type, field and value means in
the reader's language, and an entry's before/after as rows of a table instead of JSON.

The codes stay in the log (they are what filters and the API use); only the page says
them in words. A code missing here is shown as it is, so a new action is never hidden."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chiso.i18n import _


def _actions() -> dict[str, str]:
    return {
        "session.login": _("signed in"), "session.logout": _("signed out"),
        "session.logout_everywhere": _("signed out everywhere"), "login.unlock": _("sign-in unlocked"),
        "user.create": _("account created"), "user.activate": _("account activated"),
        "user.deactivate": _("account deactivated"), "user.reset_password": _("password reset"),
        "user.password": _("password changed"), "token.create": _("API token created"),
        "token.revoke": _("API token revoked"), "round.create": _("assessment round created"),
        "round.add_units": _("units added to a round"), "round.surveys_import": _("survey answers imported"),
        "round.import_published": _("published results imported"), "appraiser.assign": _("appraiser assigned"),
        "assessment.self_assess": _("self-assessment saved"), "assessment.self_assessed": _("self-assessment saved"),
        "assessment.submit": _("self-assessment submitted"), "assessment.submitted": _("self-assessment submitted"),
        "assessment.appraise": _("appraisal saved"), "assessment.appraised": _("appraisal saved"),
        "assessment.approve": _("assessment approved"), "assessment.approved": _("assessment approved"),
        "assessment.publish": _("assessment published"), "assessment.published": _("assessment published"),
        "assessment.return": _("assessment returned"), "assessment.returned": _("assessment returned"),
        "assessment.reopen": _("assessment reopened"), "assessment.reopened": _("assessment reopened"),
        "assessment.evidence": _("evidence attached"), "target.save": _("target saved"),
        "indicator.set": _("indicator value entered"), "tasks.import": _("tasks imported"),
        "task.update": _("task updated"), "task.progress": _("task progress reported"),
        "committee.member": _("committee member saved"), "report.download": _("report downloaded"),
        "dossiers.import": _("dossiers imported"), "feedback.import": _("feedback imported"),
        "procedures.import": _("procedure catalogue imported"), "unit.create": _("unit created"),
        "unit.merge": _("units merged"), "unit.split": _("unit split"), "unit.rename": _("unit renamed"),
        "unit.move": _("unit moved"), "unit.reparent": _("unit moved"), "unit.geometry_import": _("boundaries imported"),
        "group.create": _("group created"), "group.add": _("unit added to a group"),
        "group.remove": _("unit removed from a group"), "task.done": _("task marked done"),
        "task.cancel": _("task cancelled"), "evidence.download": _("evidence downloaded"),
        "meeting.add": _("meeting recorded"), "meeting.minutes": _("meeting minutes kept"),
        "meeting.conclude": _("conclusion assigned"), "committee.document": _("committee document kept"),
        "subscription.save": _("subscription saved"), "subscription.remove": _("subscription stopped"),
    }


def _objects() -> dict[str, str]:
    return {"user": _("account"), "token": _("API token"), "round": _("assessment round"),
            "assessment": _("assessment"), "target": _("target"), "indicator": _("indicator"), "task": _("task"),
            "committee": _("committee"), "report": _("report"), "dossiers": _("dossiers"), "feedback": _("feedback"),
            "procedures": _("procedures"), "unit": _("unit"), "group": _("group"),
            "unit_geometry": _("boundaries"), "session": _("session"), "meeting": _("meeting"),
            "member": _("committee member"), "committee_document": _("committee document"), "subscription": _("subscription")}


def _fields() -> dict[str, str]:
    return {"status": _("status"), "role": _("role"), "name": _("name"), "full_name": _("full name"),
            "email": _("e-mail"), "unit": _("unit"), "active": _("active"), "user": _("account"),
            "scopes": _("permissions"), "reason": _("reason"), "values": _("values"), "inputs": _("inputs"),
            "code": _("code"), "method": _("method"), "version": _("version"), "units": _("units"),
            "read": _("read"), "inserted": _("new"), "updated": _("updated"), "unchanged": _("unchanged"),
            "rejected": _("rejected"), "imported": _("imported"), "file": _("file"), "size": _("size"),
            "media_type": _("file type"), "node": _("criterion"), "parent": _("parent unit"), "goal": _("goal"),
            "deadline": _("deadline"), "value": _("value"), "direction": _("direction"), "indicator": _("indicator"),
            "colour": _("light"), "progress": _("progress"), "owner": _("person in charge"), "title": _("title"),
            "set": _("group set"), "must_change_password": _("must change password"), "period": _("period"),
            "level": _("level"), "kind": _("kind"), "source": _("source"), "sha256": _("fingerprint (SHA-256)"),
            "units_added": _("units added"), "amber": _("amber band"), "include_subunits": _("with the units below"), "created_at": _("created"), "id": _("number"),
            "meeting": _("meeting"), "meeting_point": _("point"), "chair": _("chair"), "date": _("date"),
            "product": _("product"), "authority": _("authority"), "attendees": _("attendees"),
            "minutes": _("minutes"), "stored_status": _("stored status"), "coordinating_units": _("coordinating units"),
            "completed_at": _("completed"), "member_in_charge": _("member in charge"), "parent_id": _("parent task"),
            "target": _("target"), "cancel_reason": _("reason for cancelling"), "body": _("body"),
            "fields": _("fields"), "joined_on": _("joined"), "left_on": _("left"), "place": _("place"),
            "notice_number": _("notice number"), "minutes_sha256": _("fingerprint (SHA-256)"),
            "indicators": _("indicators"), "sources": _("sources"), "signed_on": _("signed on"),
            "signed_by": _("signed by"), "effective_from": _("effective from"), "summary": _("summary"),
            "replaced_on": _("replaced on"), "number": _("number"),
            "frequency": _("frequency"), "alerts": _("alerts")}


def _values() -> dict[str, str]:
    from chiso.auth.permissions import role_name

    words = {"draft": _("draft"), "self_assessed": _("self-assessed"), "submitted": _("submitted"),
             "appraised": _("appraised"), "approved": _("approved"), "published": _("published"),
             "returned": _("returned"), "green": _("green"), "amber": _("amber"), "red": _("red"),
             "no_data": _("no data"), "higher": _("higher is better"), "lower": _("lower is better"),
             "not_started": _("not started"), "in_progress": _("in progress"), "done_on_time": _("done on time"),
             "done_late": _("done late"), "overdue": _("overdue"), "cancelled": _("cancelled"),
             "excellent": _("excellent"), "good": _("good"), "average": _("average"), "weak": _("weak"),
             "pass": _("pass"), "fail": _("fail"), "read": _("read"), "write": _("write"),
             "commune": _("commune"), "province": _("province"), "agency": _("agency"), "district": _("district"),
             "regular": _("regular meeting"), "thematic": _("thematic meeting"), "conference": _("conference"),
             "committee": _("committee"), "support_team": _("support team"),
             "establishment": _("decision of establishment"), "working_rules": _("working rules"),
             "programme": _("work programme"),
             "daily": _("daily"), "weekly": _("weekly (Mondays)"), "off": _("alerts only"), "page": _("page"),
             "overview": _("Overview"), "scorecard": _("Group scorecard"), "map": _("Map")}
    for role in ("admin", "steering", "editor", "appraiser", "viewer"):
        words[role] = role_name(role)
    return words


def action_name(code: str | None) -> str:
    return _actions().get(code or "", code or "")


def object_name(code: str | None) -> str:
    return _objects().get(code or "", code or "")


def value_text(value: Any, words: dict[str, str] | None = None) -> str:
    """A stored value as a reader says it: yes/no, codes in words, lists and mappings spelled out."""
    words = _values() if words is None else words
    if value is None:
        return "–"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, (int, float)):
        from chiso.output import number

        return number(value)
    if isinstance(value, str):
        if len(value) == 10 and value[4] == "-" and value[7] == "-" and value.replace("-", "").isdigit():
            return f"{value[8:]}/{value[5:7]}/{value[:4]}"
        return words.get(value, value)
    if isinstance(value, dict):
        names = _fields()
        return "; ".join(f"{names.get(str(k), str(k))}: {value_text(v, words)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(value_text(v, words) for v in value)
    return str(value)


def changes(before: Any, after: Any) -> list[dict[str, str]]:
    """Rows (field, before, after) of an entry; a field that did not change is shown once."""
    words, names = _values(), _fields()
    if not isinstance(before, dict) and not isinstance(after, dict):
        if before is None and after is None:
            return []
        return [{"field": "", "before": value_text(before, words) if before is not None else "",
                 "after": value_text(after, words) if after is not None else ""}]
    b = before if isinstance(before, dict) else {}
    a = after if isinstance(after, dict) else {}
    rows = []
    for key in list(b) + [k for k in a if k not in b]:
        rows.append({"field": names.get(str(key), str(key).replace("_", " ")),
                     "before": value_text(b[key], words) if key in b else "",
                     "after": value_text(a[key], words) if key in a else ""})
    return rows


def local_time(at: str | datetime) -> datetime:
    """An entry's moment (UTC) as the store's wall-clock time (setting ``timezone``)."""
    from chiso.clock import local_now

    moment = datetime.fromisoformat(at) if isinstance(at, str) else at
    return local_now(moment)
