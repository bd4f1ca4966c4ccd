"""Sample-submission orders (送样): quote, submit, list, read; the lab's accept, decline,
receive, schedule, start testing, report and close; the customer's cancel; the public report
verification. Refusals propagate to the app's handler for `Refused` (422; an illegal
transition or a state that changed under the caller 409)."""
from flask import jsonify
from flask.views import MethodView

from booking.api import Blueprint, answered_first
from booking.api.auth import SECURITY, api_user, token_required
from booking.api.paging import paged
from booking.core.notifications import commit
from booking.errors import api_abort
from booking.extensions import db
from booking.instruments.models import Instrument, can_view_instrument
from booking.orders import files, rules, services
from booking.orders.models import Order
from booking.orders.schemas import (
    CloseSchema,
    DeclineSchema,
    OrderListArgs,
    OrderListSchema,
    OrderQuoteSchema,
    OrderRequestSchema,
    OrderSchema,
    QuoteRequestSchema,
    ReceiveSchema,
    ReportFilesSchema,
    ScheduleSchema,
    VerificationSchema,
    VerifyArgs,
)

blp = Blueprint("api_orders", __name__, description="Sample-submission orders (送样委托单)")
ORDER = OrderSchema()


def _instrument(instrument_id: int) -> Instrument:
    instrument = db.session.get(Instrument, instrument_id)
    if instrument is None or not can_view_instrument(instrument, api_user()):
        api_abort(404, "not_found", "No such instrument.")
    return instrument


def _order(order_id: int) -> Order:
    order = db.session.get(Order, order_id)
    if order is None or not order.can_view(api_user()):
        api_abort(404, "not_found", "No such order.")
    return order


def _managed(order_id: int) -> Order:
    order = _order(order_id)
    if not order.can_manage(api_user()):
        api_abort(403, "forbidden", "Only the lab's managers act on its orders.")
    return order


def _answer(order: Order, status: int = 200):
    body = ORDER.dump(order)
    commit()
    return jsonify(body), status


@blp.route("/orders/quote")
class Quote(MethodView):
    decorators = [token_required]

    @blp.arguments(QuoteRequestSchema)
    @blp.response(200, OrderQuoteSchema)
    @blp.doc(security=SECURITY)
    def post(self, body):
        """The price of an order for the token's user: each test on every sample at the fee
        per sample, the set-up fee, the urgency surcharge, and the voucher's share."""
        instrument = _instrument(body["instrument_id"])
        return services.quote_order(instrument, api_user(), body["samples"], body["tests"],
                                    body["urgent"])


@blp.route("/orders")
class Orders(MethodView):
    decorators = [token_required]

    @blp.arguments(OrderListArgs, location="query")
    @blp.response(200, OrderListSchema)
    @blp.doc(security=SECURITY)
    def get(self, args):
        """Your orders (mine=1) or those of the labs you manage (mine=0)."""
        user = api_user()
        query = services.orders_of_customer(user) if args["mine"] else \
            services.orders_of_lab(user, args.get("state"))
        if args["mine"] and args.get("state"):
            query = query.where(Order.state == args["state"])
        return paged(query, args["page"], args["per_page"])

    @blp.arguments(OrderRequestSchema)
    @blp.response(201, OrderSchema)
    @blp.alt_response(422, description="the order form is incomplete (every problem in "
                      "`problems`), the instrument takes no orders, or has no rate")
    @blp.doc(security=SECURITY)
    def post(self, body):
        """Submit an order (委托单): samples, tests, leftovers, date, urgency, signed terms."""
        instrument = _instrument(body["instrument_id"])
        samples = [rules.SampleLine(s["name"], s["count"], s["state"], s["composition"],
                                    tuple(s["hazards"])) for s in body["samples"]]
        order = services.submit_order(
            instrument, api_user(), samples=samples, tests=body["tests"],
            leftovers=body["leftovers"], desired_date=body["desired_date"],
            urgent=body["urgent"], notes=body["notes"],
            hazards_acknowledged=body["hazards_acknowledged"],
            terms_signed=body["terms_signed"])
        return _answer(order, 201)


@blp.route("/orders/<int:order_id>")
class OrderView(MethodView):
    decorators = [token_required]

    @blp.response(200, OrderSchema)
    @blp.doc(security=SECURITY)
    def get(self, order_id):
        """One order with its samples and every state change (time, actor)."""
        return _order(order_id)


def _transition(doc: str, schema=None):
    """POST /orders/{id}/<name>: a lab action on the order (409 when its state forbids it)."""
    def view(self, *args, **kwargs):
        return self.act(*args, **kwargs)

    view.__doc__ = doc
    if schema is not None:  # the lab's actions with a body
        view = answered_first(_managed)(blp.arguments(schema)(view))
    view = blp.response(200, OrderSchema)(view)
    view = blp.alt_response(409, description="the order's state does not allow it")(view)
    return blp.doc(security=SECURITY)(view)


@blp.route("/orders/<int:order_id>/accept")
class Accept(MethodView):
    decorators = [token_required]
    post = _transition("Accept a submitted order (the lab's managers).")

    def act(self, order_id):
        order = _managed(order_id)
        services.accept_order(order, api_user())
        return _answer(order)


@blp.route("/orders/<int:order_id>/decline")
class Decline(MethodView):
    decorators = [token_required]
    post = _transition("Decline a submitted order with a reason.", DeclineSchema)

    def act(self, body, order_id):
        order = _managed(order_id)
        services.decline_order(order, api_user(), body["reason"])
        return _answer(order)


@blp.route("/orders/<int:order_id>/receive")
class Receive(MethodView):
    decorators = [token_required]
    post = _transition("The samples arrived: each gets its code; the condition "
                       "as received (overall, and per sample id).", ReceiveSchema)

    def act(self, body, order_id):
        order = _managed(order_id)
        services.receive_order(order, api_user(), condition=body["condition"],
                               sample_conditions={int(k): v for k, v in body["samples"].items()})
        return _answer(order)


@blp.route("/orders/<int:order_id>/schedule")
class Schedule(MethodView):
    decorators = [token_required]
    post = _transition("Book the instrument's time for the order: a "
                       "staff-operated booking of the customer's, approved, linked to the "
                       "order (booking rules apply: 422, a taken slot 409).", ScheduleSchema)

    def act(self, body, order_id):
        order = _managed(order_id)
        services.schedule_booking(order, api_user(), start=body["start"], end=body["end"])
        return _answer(order)


@blp.route("/orders/<int:order_id>/start-testing")
class StartTesting(MethodView):
    decorators = [token_required]
    post = _transition("Start testing on a linked booking that is due (it is "
                       "checked in) or already in use (no_booking_due otherwise).")

    def act(self, order_id):
        order = _managed(order_id)
        services.start_testing(order, api_user())
        return _answer(order)


@blp.route("/orders/<int:order_id>/report")
class Report(MethodView):
    decorators = [token_required]

    @blp.response(200, OrderSchema)
    @blp.alt_response(409, description="the order is not being tested")
    @blp.alt_response(422, description="a file of the wrong type or size")
    @blp.doc(security=SECURITY)
    @answered_first(_managed)
    @blp.arguments(ReportFilesSchema, location="files")
    def post(self, body, order_id):
        """Upload the report (and a data file): the order is report_ready with its report
        number, the invoice is issued (voucher share deducted), the session ends."""
        order = _managed(order_id)
        rules.check_move(order.state, "report_ready")
        uploads = [("report", body["report"])] + ([("data", body["data"])]
                                                  if body.get("data") else [])
        for kind, upload in uploads:
            files.check_all([upload], kind)
        for kind, upload in uploads:
            files.store(order, upload, kind, api_user())
        services.complete_with_report(order, api_user(),
                                      order.provider.short_code or f"ORG{order.provider_id}")
        return _answer(order)


@blp.route("/orders/<int:order_id>/close")
class Close(MethodView):
    decorators = [token_required]
    post = _transition("Close an order whose report is ready: leftover samples "
                       "returned or disposed of.", CloseSchema)

    def act(self, body, order_id):
        order = _managed(order_id)
        services.close_order(order, api_user(), body["outcome"])
        return _answer(order)


@blp.route("/orders/<int:order_id>/cancel")
class CancelOrder(MethodView):
    decorators = [token_required]
    post = _transition("The customer withdraws an order before its samples are "
                       "received.")

    def act(self, order_id):
        order = _order(order_id)
        if order.customer_user_id != api_user().id:
            api_abort(403, "forbidden", "Only the customer cancels an order.")
        services.cancel_order(order, api_user())
        return _answer(order)


@blp.route("/reports/verify")
class Verify(MethodView):
    @blp.arguments(VerifyArgs, location="query")
    @blp.response(200, VerificationSchema)
    @blp.alt_response(404, description="no report has this number")
    def get(self, args):
        """Public: confirms a report's number, date and lab, never its content."""
        order = services.order_by_report_number(args["number"].strip())
        if order is None:
            api_abort(404, "not_found", "No report with this number was issued here.")
        return order
