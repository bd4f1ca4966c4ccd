from booking.reports.rules import Figures, Line, change, changes, total


def test_change_from_the_previous_period():
    assert change(150, 100) == 0.5
    assert change(0, 100) == -1
    assert change(5, 0) is None and change(None, 3) is None


def test_external_share_and_its_change_in_points():
    now, before = Figures(hours=10, external_hours=4), Figures(hours=10, external_hours=2)
    assert now.external_share == 0.4 and Figures().external_share is None
    assert round(changes(now, before)["external_share"], 3) == 0.2


def test_total_adds_every_figure():
    a = Line(1, "甲", Figures(bookings=2, hours=3.0, voucher_fen=100), Figures(bookings=1))
    b = Line(2, "乙", Figures(bookings=3, hours=1.0, stale_listings=2), Figures(bookings=4))
    line = total([a, b], "合计")
    assert (line.now.bookings, line.now.hours, line.now.voucher_fen,
            line.now.stale_listings) == (5, 4.0, 100, 2)
    assert line.changes["bookings"] == 0.0
