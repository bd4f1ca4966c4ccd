from flask import Blueprint, render_template

bp = Blueprint("instruments", __name__)


@bp.route("/")
def index():
    return render_template("instruments/index.html")
