"""Permission helpers: predicates live on the models (`can_*`), these turn them into 403s."""
from functools import wraps

from flask import abort
from flask_login import current_user


def require(allowed: bool) -> None:
    """Abort with 403 unless the predicate held."""
    if not allowed:
        abort(403)


def role_required(*roles: str):
    """View decorator: the logged-in user must hold one of `roles` (in any organisation)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                from booking.extensions import login_manager

                return login_manager.unauthorized()
            require(current_user.has_any_role(*roles))
            return view(*args, **kwargs)

        return wrapped

    return decorator
