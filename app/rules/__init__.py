"""Pure input rules every layer applies, with no database and no Flask: plain text (no control
characters in single-line fields) and completion dates (2000-01-01 to now + clock skew)."""
