"""The HTTP surface: routes, dependencies, error mapping."""
