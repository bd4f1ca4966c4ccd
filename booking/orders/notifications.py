"""What customers and labs are told about orders: one notice per state change, composed in
the recipient's locale, kept in their inbox and queued in the outbox in the same transaction."""
from flask_babel import gettext as _

from booking.bookings.notifications import lab_managers
from booking.core.notifications import notify
from booking.core.problems import Msgid, _l
from booking.core.security import site_path
from booking.orders.models import Order

STATE_LABELS = {
    "submitted": _l("submitted"), "accepted": _l("accepted"), "declined": _l("declined"),
    "cancelled": _l("cancelled"), "received": _l("samples received"),
    "testing": _l("testing"), "report_ready": _l("report ready"),
    "closed": _l("completed"),  # not "closed": opening hours use that msgid (关闭)
}
OUTCOME_LABELS = {"return": _l("returned"), "dispose": _l("disposed of")}
#: what the customer reads for each state the lab moves the order to
CUSTOMER_TEXTS = {
    "accepted": _l("The lab accepted order %(number)s for %(instrument)s. Send or bring the "
                   "samples."),
    "declined": _l("The lab declined order %(number)s for %(instrument)s: %(note)s"),
    "received": _l("The lab received the samples of order %(number)s: %(note)s"),
    "testing": _l("Testing of order %(number)s on %(instrument)s has started."),
    "report_ready": _l("The report of order %(number)s is ready (report %(report)s). It can "
                       "be downloaded from the order's page as soon as its invoice is issued."),
    # the lab releases the report once the invoice is paid (Order.release_on)
    "report_ready_paid": _l("The report of order %(number)s is ready (report %(report)s). It "
                            "can be downloaded from the order's page once its invoice is paid."),
    "closed": _l("Order %(number)s is closed: leftover samples %(note)s."),
}


#: what the lab's managers read
LAB_TEXTS = {
    "submitted": _l("%(customer)s (%(org)s) submitted order %(number)s for %(instrument)s "
                    "(%(samples)d samples)."),
    "cancelled": _l("%(customer)s (%(org)s) cancelled order %(number)s for %(instrument)s."),
}


def _link(order: Order) -> str:
    return site_path("orders.show", order_id=order.id)


def _params(order: Order, locale: str, note: str) -> dict:
    return {"number": order.number, "instrument": order.instrument.display_name(locale),
            "note": _(note) if isinstance(note, Msgid) else note, "report": order.report_number or ""}


def notify_customer(order: Order, state: str, note: str = "") -> None:
    """The customer learns of each move the lab made."""
    user = order.customer_user
    text = CUSTOMER_TEXTS["report_ready_paid" if state == "report_ready"
                          and order.release_on == "paid" else state]
    notify(user, f"order.{state}", link=_link(order), compose=lambda: (
        _("Order %(number)s: %(state)s", number=order.number, state=_(STATE_LABELS[state])),
        _(text, **_params(order, user.locale, note))))


def notify_lab(order: Order, state: str) -> None:
    """The lab's managers learn of a new order and of one the customer cancelled."""
    text = LAB_TEXTS[state]
    for manager in lab_managers(order.provider_id):
        notify(manager, f"order.{state}", link=_link(order), compose=lambda manager=manager: (
            _("Order %(number)s: %(state)s", number=order.number,
              state=_(STATE_LABELS[state])),
            _(text, customer=order.customer_user.name,
              org=order.customer_org.display_name(manager.locale), number=order.number,
              samples=order.sample_total,
              instrument=order.instrument.display_name(manager.locale))))
