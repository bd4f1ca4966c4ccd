"""Innovation-voucher policy, eligibility, applications, redemption and reimbursement."""
