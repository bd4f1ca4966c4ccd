"""flask rankings compute --period P [--publish]."""
from datetime import date

from booking.rankings import services
from tests.rankings import used_in_the_period


def test_compute_and_publish_from_the_command_line(app, make):
    uni = make.organisation(name_zh="命令行大学")
    make.instrument(organisation=uni, purchase_date=date(2020, 1, 1))
    used_in_the_period(uni)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["rankings", "compute", "--period", "2026Q3"])
    assert result.exit_code == 0, result.output
    assert "effective hours and clients ... done" in result.output
    assert "not published" in result.output
    assert "命令行大学" in result.output
    result = runner.invoke(args=["rankings", "compute", "--period", "2026Q3", "--publish"])
    assert result.exit_code == 0 and services.get_snapshot("2026Q3").is_published
    result = runner.invoke(args=["rankings", "compute", "--period", "2026Q3"])
    assert result.exit_code == 1 and "published and cannot change" in result.output


def test_bad_period_is_a_clean_error(app):
    result = app.test_cli_runner().invoke(args=["rankings", "compute", "--period", "26Q3"])
    assert result.exit_code == 1 and "use YYYY or YYYYQn" in result.output
