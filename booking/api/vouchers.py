"""Innovation vouchers: list, apply, approve, reject."""
import marshmallow as ma
from flask.views import MethodView
from sqlalchemy import func, select

from booking.api import Blueprint
from booking.api.auth import SECURITY, api_user, token_required
from booking.api.fields import Page
from booking.core.clock import now_utc
from booking.core.notifications import commit
from booking.errors import api_abort
from booking.extensions import db
from booking.subsidies import services
from booking.subsidies.models import VOUCHER_STATES, Voucher
from booking.subsidies.policy import ENTERPRISE_CLASSES

blp = Blueprint("api_vouchers", __name__, description="Innovation vouchers (科技创新券)")

MAX_FEN = 10**12


class VoucherSchema(ma.Schema):
    id = ma.fields.Integer()
    state = ma.fields.Function(lambda voucher: voucher.state_at(now_utc()), metadata={
        "enum": list(VOUCHER_STATES), "description": "as of now (expired once past validity)"})
    enterprise_class = ma.fields.String(metadata={"enum": list(ENTERPRISE_CLASSES)})
    rate = ma.fields.Function(lambda v: format(v.rate.normalize(), "f"),
                              metadata={"description": "share of eligible fees, e.g. \"0.4\""})
    face_value_fen = ma.fields.Integer()
    remaining_fen = ma.fields.Integer()
    requested_fen = ma.fields.Integer()
    enterprise_id = ma.fields.Integer()
    year = ma.fields.Integer()
    policy_version = ma.fields.Function(lambda v: v.policy.version)
    valid_until = ma.fields.AwareDateTime(allow_none=True)
    decision_reason = ma.fields.String()


class VoucherListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(VoucherSchema))
    total = ma.fields.Integer()
    page = ma.fields.Integer()
    per_page = ma.fields.Integer()


class ListArgsSchema(ma.Schema):
    state = ma.fields.String(validate=ma.validate.OneOf(VOUCHER_STATES))
    page = Page()
    per_page = ma.fields.Integer(load_default=20, validate=ma.validate.Range(1, 100))


class DeclarationSchema(ma.Schema):
    staff_count = ma.fields.Integer(validate=ma.validate.Range(min=0), allow_none=True)
    annual_revenue_fen = ma.fields.Integer(validate=ma.validate.Range(0, MAX_FEN), allow_none=True)
    total_assets_fen = ma.fields.Integer(validate=ma.validate.Range(0, MAX_FEN), allow_none=True)
    registered_capital_fen = ma.fields.Integer(validate=ma.validate.Range(0, MAX_FEN),
                                               allow_none=True)
    founded_on = ma.fields.Date(allow_none=True)


class ApplySchema(ma.Schema):
    amount_fen = ma.fields.Integer(required=True, validate=ma.validate.Range(1, MAX_FEN))
    project = ma.fields.String(required=True, validate=ma.validate.Length(1, 2000))
    enterprise_class = ma.fields.String(required=True,
                                        validate=ma.validate.OneOf(ENTERPRISE_CLASSES))
    declaration = ma.fields.Nested(DeclarationSchema, load_default=dict)


class ApproveSchema(ma.Schema):
    amount_fen = ma.fields.Integer(validate=ma.validate.Range(1, MAX_FEN),
                                   metadata={"description": "defaults to the amount applied for"})


class RejectSchema(ma.Schema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(1, 500))


def _refuse(exc: services.VoucherError):
    problems = [{"code": p.code, "message": p.en, "message_zh": p.zh} for p in exc.problems]
    status = 409 if any(p.code == "state" for p in exc.problems) else 422
    api_abort(status, "voucher_refused", "; ".join(p.en for p in exc.problems), problems)


def _declaration(data: dict) -> dict:
    founded = data.get("founded_on")
    return {**data, "founded_on": founded.isoformat() if founded else None}


def _voucher_for_bureau(voucher_id: int) -> Voucher:
    if not api_user().is_bureau:
        api_abort(403, "forbidden", "Only bureau staff decide voucher applications.")
    return db.get_or_404(Voucher, voucher_id)


@blp.route("/vouchers")
class Vouchers(MethodView):
    decorators = [token_required]

    @blp.arguments(ListArgsSchema, location="query")
    @blp.response(200, VoucherListSchema)
    @blp.doc(security=SECURITY)
    def get(self, args):
        """Vouchers: bureau staff see all, an enterprise only its own."""
        user = api_user()
        query = select(Voucher)
        if not user.is_bureau:
            query = query.where(Voucher.enterprise_id == user.organisation_id)
        if "state" in args:
            query = query.where(Voucher.state == args["state"])
        total = db.session.scalar(select(func.count()).select_from(query.subquery()))
        items = db.session.scalars(query.order_by(Voucher.id.desc()).limit(args["per_page"])
                                   .offset((args["page"] - 1) * args["per_page"])).all()
        return {"items": items, "total": total, "page": args["page"],
                "per_page": args["per_page"]}

    @blp.arguments(ApplySchema)
    @blp.response(201, VoucherSchema)
    @blp.alt_response(422, description="not eligible: every failing rule in `problems`")
    @blp.doc(security=SECURITY)
    def post(self, body):
        """Apply for part of this year's voucher quota (enterprise members)."""
        user = api_user()
        if not user.organisation.is_enterprise:
            api_abort(403, "forbidden", "Only enterprise members apply for vouchers.")
        try:
            voucher = services.apply_for_voucher(
                user, amount_fen=body["amount_fen"], project=body["project"].strip(),
                declared_class=body["enterprise_class"],
                declaration=_declaration(body["declaration"]))
        except services.VoucherError as exc:
            _refuse(exc)
        commit()
        return voucher


@blp.route("/vouchers/<int:voucher_id>/approve")
class ApproveVoucher(MethodView):
    decorators = [token_required]

    @blp.arguments(ApproveSchema)
    @blp.response(200, VoucherSchema)
    @blp.alt_response(409, description="already decided")
    @blp.alt_response(422, description="budget, cap or eligibility refused")
    @blp.doc(security=SECURITY)
    def post(self, body, voucher_id):
        """Approve an application (possibly a smaller amount); the voucher is issued."""
        voucher = _voucher_for_bureau(voucher_id)
        try:
            services.approve_voucher(voucher, api_user(), body.get("amount_fen"))
        except services.VoucherError as exc:
            _refuse(exc)
        commit()
        return voucher


@blp.route("/vouchers/<int:voucher_id>/reject")
class RejectVoucher(MethodView):
    decorators = [token_required]

    @blp.arguments(RejectSchema)
    @blp.response(200, VoucherSchema)
    @blp.alt_response(409, description="already decided")
    @blp.doc(security=SECURITY)
    def post(self, body, voucher_id):
        """Reject an application with a reason."""
        voucher = _voucher_for_bureau(voucher_id)
        try:
            services.reject_voucher(voucher, api_user(), body["reason"])
        except services.VoucherError as exc:
            _refuse(exc)
        commit()
        return voucher
