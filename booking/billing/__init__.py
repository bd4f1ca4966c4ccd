"""Pricing, invoices and payments."""
