from flask.views import MethodView

from booking.accounts.services import user_for_api_token
from booking.api import Blueprint
from booking.api.auth import SECURITY, bearer_token
from booking.errors import api_abort
from booking.rankings import services
from booking.rankings.models import RankingSnapshot
from booking.rankings.rules import PeriodError, parse_period
from booking.rankings.schemas import (
    RankingQuerySchema,
    RankingSchema,
)

blp = Blueprint("api_rankings", __name__, description="Sharing rankings of institutions")


@blp.route("/rankings")
class Rankings(MethodView):
    @blp.arguments(RankingQuerySchema, location="query")
    @blp.response(200, RankingSchema)
    @blp.alt_response(404, description="no such ranking (or not published and no bureau token)")
    @blp.doc(security=[{}, *SECURITY])
    def get(self, query):
        """A period's ranking: public once published; bureau staff's token sees unpublished."""
        if query["period"] is None:
            snapshot = services.latest_published()
        else:
            try:
                period = parse_period(query["period"])
            except PeriodError as exc:
                api_abort(422, "bad_period", str(exc))
            snapshot = services.get_snapshot(period.label)
        if snapshot is None or not (snapshot.is_published or _bureau_token()):
            api_abort(404, "not_found", "No published ranking for this period.")
        return {"period": snapshot.period, "published": snapshot.is_published,
                "published_at": snapshot.published_at,
                "policy_version": snapshot.policy_version,
                "reward_pool_fen": snapshot.reward_pool_fen,
                "reward_remainder_fen": snapshot.reward_remainder_fen, "rows": snapshot.rows}


def _bureau_token() -> bool:
    """An optional bearer token: a bad one is refused, a bureau one sees unpublished rankings."""
    raw = bearer_token()
    if not raw:
        return False
    user = user_for_api_token(raw)
    if user is None:
        api_abort(401, "invalid_token", "The token is unknown, expired or revoked.")
    return RankingSnapshot.can_manage(user)
