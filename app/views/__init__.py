"""HTML pages: one package per domain, each with its blueprint `bp` in the package and thin route modules."""
