"""Sharing, notifications and email previews: the learner's "My certificates", the public share page,
the notification bell and the admin email previews (blueprint `sharing`)."""
