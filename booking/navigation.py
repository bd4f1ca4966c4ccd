"""The navigation bar by role. Each entry names an endpoint; entries whose area is not
installed (no such endpoint) are skipped, so the bar grows as areas are added."""
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from booking.rankings.models import RankingSnapshot
from booking.subsidies.models import Voucher

# (endpoint, label, bootstrap icon, who sees it)
NAV = [
    ("instruments.index", _l("Instruments"), "search", lambda u: True),
    ("bookings.mine", _l("My bookings"), "calendar-check", lambda u: u.is_authenticated),
    ("bookings.queue", _l("Approvals"), "inbox",
     lambda u: u.is_authenticated and u.has_any_role("lab_manager")),
    ("orders.mine", _l("My test orders"), "eyedropper", lambda u: u.is_authenticated),
    ("billing.my_invoices", _l("My invoices"), "receipt", lambda u: u.is_authenticated),
    ("groups.index", _l("Research groups"), "people", lambda u: u.is_authenticated),
    ("subsidies.my_vouchers", _l("Vouchers"), "ticket-perforated", Voucher.can_apply),
    ("instruments.manage", _l("Lab console"), "tools",
     lambda u: u.is_authenticated and u.has_any_role("lab_manager")),
    ("orders.lab", _l("Test orders"), "box-seam",
     lambda u: u.is_authenticated and u.has_any_role("lab_manager")),
    # finance roles only: the office's pages show the organisations whose finance one keeps
    ("billing.finance", _l("Finance"), "cash-coin",
     lambda u: u.is_authenticated and u.has_role("finance")),
    ("rankings.dashboard", _l("Bureau"), "bar-chart", RankingSnapshot.can_manage),
    ("subsidies.queue", _l("Voucher review"), "clipboard-check", Voucher.can_oversee),
    ("admin.organisations", _l("Console"), "building-gear",
     lambda u: u.is_authenticated and u.is_bureau),
    ("reports.index", _l("Reports"), "file-earmark-bar-graph",
     lambda u: u.is_authenticated and (u.is_bureau or bool(u.managed_organisation_ids()))),
    # lab managers' way to their organisation's audit trail (the bureau's is a Console tab)
    ("admin.audit", _l("Audit trail"), "journal-text",
     lambda u: u.is_authenticated and not u.is_bureau and bool(u.managed_organisation_ids())),
    ("rankings.public", _l("Rankings"), "trophy", lambda u: True),
]


def nav_items():
    views = current_app.view_functions
    return [(endpoint, label, icon, visible(current_user))
            for endpoint, label, icon, visible in NAV if endpoint in views]
