"""Innovation vouchers: list, apply, approve, reject."""
from flask.views import MethodView

from booking.api import Blueprint, answered_first
from booking.api.auth import SECURITY, api_user, token_required
from booking.api.paging import paged
from booking.core.notifications import commit
from booking.errors import api_abort
from booking.extensions import db
from booking.subsidies import services
from booking.subsidies.models import Voucher
from booking.subsidies.schemas import (
    ApplySchema,
    ApproveSchema,
    ListArgsSchema,
    RejectSchema,
    VoucherListSchema,
    VoucherSchema,
)

blp = Blueprint("api_vouchers", __name__, description="Innovation vouchers (科技创新券)")

def _declaration(data: dict) -> dict:
    founded = data.get("founded_on")
    return {**data, "founded_on": founded.isoformat() if founded else None}


def _voucher_to_decide(voucher_id: int) -> Voucher:
    # who decides does not depend on the voucher: asked before the lookup, so that ids are
    # not probed (Voucher.can_decide is the same rule)
    if not Voucher.can_oversee(api_user()):
        api_abort(403, "forbidden", "Only bureau staff decide voucher applications.")
    voucher = db.session.get(Voucher, voucher_id)
    if voucher is None:
        api_abort(404, "not_found", "No such voucher.")
    return voucher


@blp.route("/vouchers")
class Vouchers(MethodView):
    decorators = [token_required]

    @blp.arguments(ListArgsSchema, location="query")
    @blp.response(200, VoucherListSchema)
    @blp.doc(security=SECURITY)
    def get(self, args):
        """Vouchers: bureau staff see all, an enterprise only its own."""
        query = services.vouchers_visible_to(api_user(), args.get("state"))
        return paged(query, args["page"], args["per_page"])

    @blp.arguments(ApplySchema)
    @blp.response(201, VoucherSchema)
    @blp.alt_response(422, description="not eligible: every failing rule in `problems`")
    @blp.doc(security=SECURITY)
    def post(self, body):
        """Apply for part of this year's voucher quota (enterprise members)."""
        user = api_user()
        if not Voucher.can_apply(user):
            api_abort(403, "forbidden", "Only enterprise members apply for vouchers.")
        voucher = services.apply_for_voucher(
            user, amount_fen=body["amount_fen"], project=body["project"].strip(),
            declared_class=body["enterprise_class"],
            declaration=_declaration(body["declaration"]))
        commit()
        return voucher


@blp.route("/vouchers/<int:voucher_id>/approve")
class ApproveVoucher(MethodView):
    decorators = [token_required]

    @blp.response(200, VoucherSchema)
    @blp.alt_response(409, description="already decided")
    @blp.alt_response(422, description="budget, cap or eligibility refused")
    @blp.doc(security=SECURITY)
    @answered_first(_voucher_to_decide)
    @blp.arguments(ApproveSchema)
    def post(self, body, voucher_id):
        """Approve an application (possibly a smaller amount); the voucher is issued."""
        voucher = _voucher_to_decide(voucher_id)
        services.approve_voucher(voucher, api_user(), body.get("amount_fen"), body["reason"])
        commit()
        return voucher


@blp.route("/vouchers/<int:voucher_id>/reject")
class RejectVoucher(MethodView):
    decorators = [token_required]

    @blp.response(200, VoucherSchema)
    @blp.alt_response(409, description="already decided")
    @blp.doc(security=SECURITY)
    @answered_first(_voucher_to_decide)
    @blp.arguments(RejectSchema)
    def post(self, body, voucher_id):
        """Reject an application with a reason."""
        voucher = _voucher_to_decide(voucher_id)
        services.reject_voucher(voucher, api_user(), body["reason"])
        commit()
        return voucher
