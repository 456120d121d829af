"""The hosted checkout's core: an intent opened by its client secret alone, and its payer-facing view."""
