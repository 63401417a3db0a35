"""The web interface: server-rendered pages (Jinja2, the DSFR, htmx) for agents, service heads,
the quality manager and administrators, and the public indicators page."""
