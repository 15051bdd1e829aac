"""Certificate documents: rendering PDFs from the frozen snapshot (rendering.py), who may download them and
ZIP exports (downloads.py), and the template designer (designer.py). The engine itself is app/documents."""
