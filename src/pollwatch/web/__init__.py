"""Server-rendered pages (Jinja2); the dashboard grows here."""
