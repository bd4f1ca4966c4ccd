"""The navigation bar by role. Each entry names an endpoint; entries whose area is not
installed (no such endpoint) are skipped, so the bar grows as areas are added. A lab's and the
bureau's work pages gather under one menu each, so a person with several roles (a lab manager,
an administrator) keeps one row on a laptop in either language."""
from collections.abc import Callable
from typing import NamedTuple

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from booking.rankings.models import RankingSnapshot
from booking.subsidies.models import Voucher


class NavEntry(NamedTuple):
    endpoint: str
    label: object  # a lazy string
    icon: str  # a Bootstrap icon's name
    visible: Callable  # (user) -> bool
    group: str | None = None  # the menu it sits in (GROUPS), else on the bar itself


def _manages_a_lab(user) -> bool:
    return user.is_authenticated and user.has_any_role("lab_manager")


GROUPS = {"lab": (_l("Lab"), "tools"), "bureau": (_l("Bureau"), "bank")}

NAV = [
    NavEntry("instruments.index", _l("Instruments"), "search", lambda u: True),
    NavEntry("bookings.mine", _l("My bookings"), "calendar-check", lambda u: u.is_authenticated),
    NavEntry("orders.mine", _l("My test orders"), "eyedropper", lambda u: u.is_authenticated),
    NavEntry("billing.my_invoices", _l("My invoices"), "receipt", lambda u: u.is_authenticated),
    NavEntry("groups.index", _l("Research groups"), "people", lambda u: u.is_authenticated),
    NavEntry("subsidies.my_vouchers", _l("Vouchers"), "ticket-perforated", Voucher.can_apply),
    NavEntry("metering.lab_day", _l("The lab's day"), "calendar-day", _manages_a_lab, "lab"),
    NavEntry("bookings.queue", _l("Approvals"), "inbox", _manages_a_lab, "lab"),
    NavEntry("instruments.manage", _l("Lab console"), "tools", _manages_a_lab, "lab"),
    NavEntry("orders.lab", _l("Test orders"), "box-seam", _manages_a_lab, "lab"),
    # lab managers' way to their organisation's audit trail (the bureau's is a Console tab)
    NavEntry("admin.audit", _l("Audit trail"), "journal-text",
             lambda u: u.is_authenticated and not u.is_bureau
             and bool(u.managed_organisation_ids()), "lab"),
    # finance roles only: the office's pages show the organisations whose finance one keeps
    NavEntry("billing.finance", _l("Finance"), "cash-coin",
             lambda u: u.is_authenticated and u.has_role("finance")),
    NavEntry("rankings.dashboard", _l("Rankings dashboard"), "bar-chart", RankingSnapshot.can_manage,
             "bureau"),
    NavEntry("subsidies.queue", _l("Voucher review"), "clipboard-check", Voucher.can_oversee,
             "bureau"),
    NavEntry("admin.organisations", _l("Console"), "building-gear",
             lambda u: u.is_authenticated and u.is_bureau, "bureau"),
    NavEntry("reports.index", _l("Reports"), "file-earmark-bar-graph",
             lambda u: u.is_authenticated and (u.is_bureau or bool(u.managed_organisation_ids()))),
    NavEntry("rankings.public", _l("Rankings"), "trophy", lambda u: True),
]


class NavLink(NamedTuple):
    endpoint: str
    label: object
    icon: str


class NavMenu(NamedTuple):
    label: object
    icon: str
    links: list[NavLink]


def nav_items() -> list[NavLink | NavMenu]:
    """What the current user's bar shows, in NAV's order: a group's entries as one menu where
    the group first appears, or as a plain link when only one of them is visible."""
    views = current_app.view_functions
    user = current_user._get_current_object()  # the proxy costs a lookup per attribute read
    shown = [entry for entry in NAV if entry.endpoint in views and entry.visible(user)]
    items, menus = [], {}
    for entry in shown:
        link = NavLink(entry.endpoint, entry.label, entry.icon)
        if entry.group is None:
            items.append(link)
        elif entry.group not in menus:
            menus[entry.group] = NavMenu(*GROUPS[entry.group], [link])
            items.append(menus[entry.group])
        else:
            menus[entry.group].links.append(link)
    return [item.links[0] if isinstance(item, NavMenu) and len(item.links) == 1 else item
            for item in items]
