"""The invoice PDF: the customer and the provider's finance staff download it; others cannot."""
from tests.web.billing.test_billing_api import sold  # noqa: F401 - fixture


def test_customer_downloads_the_invoice_as_pdf(client, login, sold):  # noqa: F811
    invoice = sold["invoice"]
    login(sold["customer"])
    response = client.get(f"/invoices/{invoice.id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    assert invoice.number.encode() in response.data  # Helvetica text, uncompressed pages
    assert f'filename="{invoice.number}.pdf"' in response.headers["Content-Disposition"]
    page = client.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    assert f"/invoices/{invoice.id}.pdf" in page


def test_finance_of_the_provider_may_download_but_strangers_may_not(client, login, make,
                                                                     sold):  # noqa: F811
    login(sold["finance"])
    response = client.get(f"/invoices/{sold['invoice'].id}.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF-")
    assert sold["invoice"].number.encode() in response.data
    client.post("/logout")
    login(make.user())
    refused = client.get(f"/invoices/{sold['invoice'].id}.pdf")
    assert refused.status_code == 403 and refused.mimetype == "text/html"
