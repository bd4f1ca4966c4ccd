"""The audit trail as people read it: searched by who, what, which object, when and which
organisation, paged, and exported. Administrators and bureau staff read everything; a lab
manager reads the events of the organisations they manage (events whose actor belongs to them,
or whose object is the organisation or one of its people)."""
from datetime import timedelta

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, or_, select

from booking.accounts.models import Organisation, User
from booking.admin.audit_labels import action_label, as_json, object_label
from booking.api.fields import Day, Id, SearchText
from booking.api.paging import PageArgs, in_order
from booking.core.audit import AuditEvent
from booking.core.clock import local_midnight
from booking.extensions import db

EXPORT_LIMIT = 50_000  # rows in one export: a year of a city's audit trail fits


class AuditFilters(PageArgs):
    who = SearchText()            # actor's e-mail or name
    action = SearchText()         # an action or its prefix: "instrument." or "user.deactivated"
    object_type = SearchText(data_key="type")
    object_id = Id(data_key="object")
    org = Id()
    since = Day(data_key="from")
    until = Day(data_key="to")

    @ma.post_load
    def _ordered(self, data, **kwargs):
        return in_order(data, "since", "until")


AUDIT_ARGS = AuditFilters()


def visible_organisation_ids(user: User) -> set[int] | None:
    """None: every event; else the organisations whose events the user may read."""
    if user.is_bureau:
        return None
    return user.managed_organisation_ids()


def can_read_audit(user: User) -> bool:
    return user.is_authenticated and (user.is_bureau or bool(user.managed_organisation_ids()))


def _of_organisations(org_ids) -> object:
    members = select(User.id).where(User.organisation_id.in_(org_ids))
    return or_(AuditEvent.actor_id.in_(members),
               (AuditEvent.object_type == "Organisation") & AuditEvent.object_id.in_(org_ids),
               (AuditEvent.object_type == "User") & AuditEvent.object_id.in_(members))


def events(viewer: User, args: dict, timezone: str) -> Select:
    """(event, actor e-mail, actor name) rows the viewer may read, newest first."""
    query = select(AuditEvent, User.email, User.name).outerjoin(
        User, AuditEvent.actor_id == User.id)
    allowed = visible_organisation_ids(viewer)
    if allowed is not None:
        query = query.where(_of_organisations(allowed or {0}))
    if args.get("org"):
        query = query.where(_of_organisations({args["org"]}))
    if args.get("who"):
        query = query.where(or_(User.email.icontains(args["who"], autoescape=True),
                                User.name.icontains(args["who"], autoescape=True)))
    if args.get("action"):
        action = args["action"]
        query = query.where(AuditEvent.action.startswith(action, autoescape=True)
                            if action.endswith(".") else AuditEvent.action == action)
    if args.get("object_type"):
        query = query.where(AuditEvent.object_type == args["object_type"])
    if args.get("object_id"):
        query = query.where(AuditEvent.object_id == args["object_id"])
    if args.get("since"):
        query = query.where(AuditEvent.created_at >= local_midnight(args["since"], timezone))
    if args.get("until"):
        query = query.where(AuditEvent.created_at < local_midnight(
            args["until"] + timedelta(days=1), timezone))
    return query.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())


def action_choices() -> list[str]:
    """The kinds of event recorded so far, and their prefixes ("instrument.")."""
    actions = sorted(db.session.scalars(select(AuditEvent.action).distinct().limit(500)))
    prefixes = sorted({a.split(".", 1)[0] + "." for a in actions if "." in a})
    return prefixes + actions


def organisation_choices(viewer: User) -> list[Organisation]:
    query = select(Organisation).order_by(Organisation.name_zh)
    allowed = visible_organisation_ids(viewer)
    if allowed is not None:
        query = query.where(Organisation.id.in_(allowed or {0}))
    return list(db.session.scalars(query))


# in the reader's language, with the action said as the page says it beside its code (a
# filter in the spreadsheet); what changed stays JSON, as stored
EXPORT_HEADER = (_l("Time"), _l("E-mail"), _l("Full name"), _l("Action"), _l("Action code"),
                 _l("Object"), _l("Object id"), _l("Before"), _l("After"), _l("Details"))


def shows_addresses(viewer: User) -> bool:
    """Addresses are for the platform's own staff: a lab reads its trail without the IPs of
    those who acted on it (the platform's admins among them)."""
    return visible_organisation_ids(viewer) is None


def export_header(with_ip: bool) -> list[str]:
    return [str(name) for name in EXPORT_HEADER] + (["IP"] if with_ip else [])


def export_rows(query: Select, with_ip: bool):
    for event, email, name in db.session.execute(query.limit(EXPORT_LIMIT)):
        data = dict(event.data or {})
        before, after = data.pop("before", None), data.pop("after", None)
        row = (event.created_at, email or "", name or "", action_label(event.action),
               event.action, object_label(event.object_type) if event.object_type else "",
               event.object_id, as_json(before), as_json(after), as_json(data))
        yield (*row, event.ip or "") if with_ip else row


def names_reader(locale: str):
    """name_of(kind, id) for one page of the trail (audit_labels.value_text): each name read
    once, by primary key; None for what no longer exists."""
    from booking.groups.models import Project
    from booking.instruments.models import Instrument

    read = {"organisation": lambda row: row.display_name(locale),
            "instrument": lambda row: row.display_name(locale),
            "project": lambda row: row.label, "user": lambda row: row.name}
    models = {"organisation": Organisation, "instrument": Instrument, "project": Project,
              "user": User}
    known: dict[tuple[str, int], str | None] = {}

    def name_of(kind: str, record_id: int) -> str | None:
        if (kind, record_id) not in known:
            row = db.session.get(models[kind], record_id)
            known[kind, record_id] = read[kind](row) if row is not None else None
        return known[kind, record_id]
    return name_of
