"""Events: recorded with the state change that causes them, listed by the API, delivered as webhooks."""

from sluice.events.service import EventType, NewEvent, intent_event, record_event, record_events, refund_event

__all__ = ["EventType", "NewEvent", "intent_event", "record_event", "record_events", "refund_event"]
