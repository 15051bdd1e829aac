"""Messaging: the mail outbox (outbox.py), in-app notifications (notifications.py), email previews."""
