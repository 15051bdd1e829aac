"""The domain: one module per capability. Plain functions; no request, no templates of pages.

Services flush; the request (or job) boundary commits once.
"""
