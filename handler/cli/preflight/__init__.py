"""``imagegate preflight``: what a deploy to this account and region would run into, found
with read-only calls before ``sam deploy`` makes anything, each with what to do about it."""
