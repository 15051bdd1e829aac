"""The integrations console (admin) and the incoming webhook endpoint."""
