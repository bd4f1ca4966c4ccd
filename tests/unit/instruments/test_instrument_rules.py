

def test_open_until_midnight_is_written_24_00():
    """Reported: 00:00-24:00 was refused, so the last slot of a day could never be booked."""
    from datetime import time

    from booking.instruments.rules import clock_text, parse_intervals

    assert parse_intervals("00:00-24:00") == ([(time(0), time(23, 59))], [])
    assert clock_text(time(23, 59)) == "24:00" and clock_text(time(8, 30)) == "08:30"
    assert parse_intervals("08:00-24:30")[1] == ["Times must lie between 00:00 and 24:00."]
