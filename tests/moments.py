"""Named moments the tests freeze the clock at or build bookings around.

All are aware UTC instants in 2026; each name and comment give the wall clock in
Asia/Shanghai (UTC+8, no daylight saving), where the instruments open 08:00-18:00 on weekdays.
Import the name (`from tests.moments import MONDAY_23_NOV_8AM`) rather than redefining it;
a test that needs another moment adds it here, with its own name.
"""
from datetime import UTC, date, datetime

# --- bookings (issue 4): the week of 23 November ----------------------------------------------
MONDAY_23_NOV_8AM = datetime(2026, 11, 23, 0, tzinfo=UTC)  # Mon 23 Nov, 08:00: labs open
TUESDAY_24_NOV_10AM = datetime(2026, 11, 24, 2, tzinfo=UTC)  # Tue 24 Nov, 10:00: a usual slot

# --- metering and billing (issue 5): the month of March -----------------------------------------
MONDAY_2_MAR_8AM = datetime(2026, 3, 2, 0, tzinfo=UTC)  # Mon 2 Mar, 08:00: labs open
MONDAY_2_MAR_9AM = datetime(2026, 3, 2, 1, tzinfo=UTC)  # Mon 2 Mar, 09:00: a usual session
NEW_YEAR_8AM = datetime(2026, 1, 1, 0, tzinfo=UTC)  # Thu 1 Jan, 08:00: rate cards valid from

# --- subsidies (issue 6): May, second quarter -------------------------------------------------
SUNDAY_10_MAY = date(2026, 5, 10)  # Sun 10 May: "today" of the voucher rules
SUNDAY_10_MAY_10AM = datetime(2026, 5, 10, 2, tzinfo=UTC)  # Sun 10 May, 10:00: voucher pages
MONDAY_11_MAY_9AM = datetime(2026, 5, 11, 1, tzinfo=UTC)  # Mon 11 May, 09:00: a voucher-paid use

# --- rankings (issue 7): the third quarter --------------------------------------------------------
WEDNESDAY_15_JUL_9AM = datetime(2026, 7, 15, 1, tzinfo=UTC)  # Wed 15 Jul, 09:00: mid 2026Q3
MONDAY_3_AUG_10AM = datetime(2026, 8, 3, 2, tzinfo=UTC)  # Mon 3 Aug, 10:00: a rated use in Q3

# --- the daily life of bookings (issue 18): the kiosk on a Monday in March ----------------------
MONDAY_2_MAR_3PM = datetime(2026, 3, 2, 7, tzinfo=UTC)  # Mon 2 Mar, 15:00: an afternoon slot
MONDAY_2_MAR_7PM = datetime(2026, 3, 2, 11, tzinfo=UTC)  # Mon 2 Mar, 19:00: labs closed

# --- sample-submission orders (issue 20): a Monday in December ----------------------------------
MONDAY_7_DEC_9AM = datetime(2026, 12, 7, 1, tzinfo=UTC)  # Mon 7 Dec, 09:00: an order comes in
