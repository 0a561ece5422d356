"""The routes, one module per resource. Importing this package imports none of them: each app
names its own (``handler/app.py``, ``admin_app.py``, ``member_app.py``), so a function imports
only the routes it serves, and those when they are first asked for if it builds its app lazily."""
