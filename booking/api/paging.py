"""One way to page a list, for the API and the pages alike: the page's rows and the total, in
the documented shape."""
import marshmallow as ma
from sqlalchemy import Select, func, select

from booking.api.fields import Page
from booking.extensions import db


class PageArgs(ma.Schema):
    """`page` (from 1) and `per_page` (1-100) query arguments; list schemas extend it."""

    page = Page()
    per_page = ma.fields.Integer(load_default=20, validate=ma.validate.Range(1, 100))


def in_order(data: dict, first: str, last: str) -> dict:
    """A date range typed the wrong way round, read the right way round (a list's filter:
    there is nothing to refuse)."""
    if data.get(first) and data.get(last) and data[first] > data[last]:
        data[first], data[last] = data[last], data[first]
    return data


def page_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """The list answer: {"items": [...], "total", "page", "per_page"}."""
    return ma.Schema.from_dict({"items": ma.fields.List(ma.fields.Nested(item_schema)),
                                "total": ma.fields.Integer(), "page": ma.fields.Integer(),
                                "per_page": ma.fields.Integer()}, name=name)


def paged(query: Select, page: int, per_page: int, *, clamp: bool = False) -> dict:
    """The rows of `query` (already filtered and ordered by the caller) on one page: a count
    and one LIMIT/OFFSET read. `clamp` (pages): a page past the last one shows the last one
    (a list that shrank since its link was made); the API answers it empty. `pages` is the
    number of pages (at least 1). Items are objects for a query of one entity, else rows."""
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    pages = max(1, -(-total // per_page))
    if clamp:
        page = min(page, pages)
    window = query.offset((page - 1) * per_page).limit(per_page)
    result = db.session.execute(window)
    items = result.scalars().all() if len(query.column_descriptions) == 1 else result.all()
    return {"items": items, "total": total, "page": page, "per_page": per_page, "pages": pages}
