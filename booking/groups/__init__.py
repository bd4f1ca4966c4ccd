"""Research groups (课题组), their project accounts (经费卡) with budgets, and the PI's approval
(导师审批) of members' booking requests. This area imports accounts and core only: bookings
and billing ask it through its services, and it answers the bookings area through a signal
(`pi_decided`)."""
