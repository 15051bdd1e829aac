"""Compliance: who must hold which certification (requirements), who does (the matrix, computed in SQL),
who is excused (exemptions) and who is told (notices, escalations, the weekly digest)."""
