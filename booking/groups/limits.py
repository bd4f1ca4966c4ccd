"""A project's spending limits per instrument or instrument category: set by the PI, checked
when a booking is charged to the project (services.check_charge)."""
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import case, column, func, select, table
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from booking.accounts.models import Organisation, User
from booking.core import audit
from booking.core.categories import CATEGORIES
from booking.core.names import in_language
from booking.core.problems import Refused, _l
from booking.core.web import picked_id
from booking.extensions import db
from booking.groups import rules
from booking.groups.models import Project, ProjectEntry, ProjectLimit


class LimitRefused(Refused):
    """A limit cannot be set as asked (nothing was changed)."""


_instruments = table("instruments", column("id"), column("organisation_id"), column("name_zh"),
                     column("name_en"), column("is_public"), column("status"))


def resolve_instrument(text: str, viewer: User) -> int:
    """The instrument a picker's text means: the id it ends with ("… · #231"), or else an
    exact name, Chinese or English (read by name: this area does not import the catalogue).
    Only instruments the viewer may see: the listed ones, and their own institution's once
    it confirmed them (as instruments.models.can_view_instrument)."""
    wanted = picked_id(text)
    if wanted is not None:
        condition = _instruments.c.id == wanted
    else:
        name = text.strip().lower()
        condition = ((func.lower(_instruments.c.name_zh) == name)
                     | (func.lower(_instruments.c.name_en) == name))
    visible = _instruments.c.is_public.is_(True) & (_instruments.c.status != "retired")
    if viewer.membership_confirmed:
        visible |= _instruments.c.organisation_id == viewer.organisation_id
    ids = db.session.scalars(select(_instruments.c.id).where(condition, visible).limit(2)).all()
    if not ids:
        raise LimitRefused.one("unknown_instrument", _l(
            "No instrument has that name or number: choose one from the suggestions."))
    if len(ids) > 1:
        raise LimitRefused.one("ambiguous_instrument", _l(
            "Several instruments have that name: choose one from the suggestions, which name "
            "the institution."))
    return ids[0]


def set_limit(project: Project, actor: User, *, instrument_id: int | None,
              category: str | None, limit_fen: int) -> ProjectLimit:
    """A limit on the instrument or the category; one already set on it is replaced."""
    if category is not None and category not in CATEGORIES:
        raise LimitRefused.one("unknown_category", _l("No such instrument category."))
    limit = next((limit for limit in project.limits
                  if (limit.instrument_id, limit.category) == (instrument_id, category)), None)
    before = limit.limit_fen if limit else None
    db.session.flush()  # what was pending fails on its own, not as this limit's conflict
    try:
        with db.session.begin_nested():
            if limit is None:
                limit = ProjectLimit(project=project, instrument_id=instrument_id,
                                     category=category)
                db.session.add(limit)
            limit.limit_fen = limit_fen
    except (IntegrityError, StaleDataError):  # set, or removed, elsewhere at the same moment
        raise LimitRefused.one("limit_conflict", _l(
            "This limit was set at the same moment elsewhere: reload the page and check it."),
        ) from None
    audit.record("project.limit_set", actor=actor, obj=project, instrument_id=instrument_id,
                 category=category, limit_fen=limit_fen, before_fen=before)
    return limit


def remove_limit(limit: ProjectLimit, actor: User) -> None:
    audit.record("project.limit_removed", actor=actor, obj=limit.project,
                 instrument_id=limit.instrument_id, category=limit.category,
                 limit_fen=limit.limit_fen)
    db.session.delete(limit)
    db.session.flush()


@dataclass(frozen=True)
class LimitState:
    limit: ProjectLimit
    instrument_name: str | None  # in the viewer's language; None: a category's limit
    used_fen: int

    @property
    def left_fen(self) -> int:
        return self.limit.limit_fen - self.used_fen


def limits_of(project: Project, locale: str) -> list[LimitState]:
    """The project's limits with what each has used so far, instruments by name and
    institution (two of them often share a name)."""
    names = instrument_names([limit.instrument_id for limit in project.limits
                              if limit.instrument_id], locale, with_institution=True)
    spent = uses(project, project.limits)
    return [LimitState(limit, names.get(limit.instrument_id), spent[limit.id])
            for limit in sorted(project.limits, key=lambda x: (x.category or "", x.id))]


def instrument_names(ids, locale: str, with_institution: bool = False) -> dict[int, str]:
    """Instruments' names in the reader's language (with their institution's), by id."""
    if not ids:
        return {}
    rows = db.session.execute(
        select(_instruments, Organisation.name_zh.label("org_zh"),
               Organisation.name_en.label("org_en"))
        .join(Organisation, Organisation.id == _instruments.c.organisation_id)
        .where(_instruments.c.id.in_(set(ids))))
    return {row.id: " · ".join((in_language(row.name_zh, row.name_en, locale),
                                in_language(row.org_zh, row.org_en, locale)))
            if with_institution else in_language(row.name_zh, row.name_en, locale)
            for row in rows}


_NET = func.coalesce(func.sum(case(  # what an entry takes: a credit gives back, a hold let go
    (ProjectEntry.kind == "credit", -ProjectEntry.amount_fen),
    (ProjectEntry.released_at.is_not(None), 0), else_=ProjectEntry.amount_fen)), 0)


def uses(project: Project, limits: list[ProjectLimit]) -> dict[int, int]:
    """What the project has spent or holds on each limit's instrument or category, by limit
    id: one statement for all of them."""
    if not limits:
        return {}
    by_instrument, by_category = Counter(), Counter()
    for instrument_id, category, net in db.session.execute(
            select(ProjectEntry.instrument_id, ProjectEntry.category, _NET)
            .where(ProjectEntry.project_id == project.id)
            .group_by(ProjectEntry.instrument_id, ProjectEntry.category)):
        by_instrument[instrument_id] += int(net)
        by_category[category] += int(net)
    return {limit.id: by_instrument[limit.instrument_id] if limit.instrument_id
            else by_category[limit.category] for limit in limits}


def used(project: Project, limit: ProjectLimit) -> int:
    """What the project has spent or holds on the limit's instrument or category."""
    return uses(project, [limit])[limit.id]


def tightest_for(project: Project, instrument_id: int, category: str
                 ) -> rules.LimitLeft | None:
    """What the tightest limit for this instrument or category still allows, and which kind
    of limit it is (None: no limit applies)."""
    applying = [limit for limit in project.limits if limit.instrument_id == instrument_id
                or (limit.category and limit.category == category)]
    spent = uses(project, applying)
    lefts = [rules.LimitLeft(limit.limit_fen - spent[limit.id],
                             "instrument" if limit.instrument_id else "category")
             for limit in applying]
    return min(lefts) if lefts else None
