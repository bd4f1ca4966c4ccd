"""Sample-submission orders (送样委托单): order form and quote, intake with sample labels,
tracking, the report and its verification, invoicing through billing (issue 20)."""
