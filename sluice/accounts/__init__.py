"""The platform operator's side: merchant accounts, their fees and status, platform keys, revenue."""
