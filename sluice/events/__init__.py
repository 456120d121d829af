"""Events: recorded with the state change that causes them, listed by the API, delivered as webhooks."""
