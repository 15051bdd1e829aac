"""Certificate documents on the web: template designer, PDF downloads, regenerate, ZIP exports."""
