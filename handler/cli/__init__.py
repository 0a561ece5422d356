"""The ``imagegate`` command. Dev and operator tooling: never imported by Lambda code."""
