"""Web plumbing shared by the blueprints: auth wiring, errors, security headers, page helpers."""
