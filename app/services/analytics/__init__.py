"""Analytics: figures (what each chart shows), queries (their SQL), filters, the Redis cache, and the
scheduled reports."""
