"""Signed webhooks: endpoints, the delivery worker, signing, the SSRF guard."""
