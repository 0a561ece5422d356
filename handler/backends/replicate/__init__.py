"""Replicate models through the ``replicate`` client.

Each image is its own prediction (``num_outputs`` 1, the image's own seed), run in parallel:
every seed in a response then really reproduces its image, and one image removed by the
safety checker costs only that image. A prediction is created with ``Prefer: wait`` bounded by
the request's deadline, polled if it comes back unfinished, and cancelled when the deadline
passes, so no prediction is left running for nobody. Outputs are downloaded at once (Replicate
deletes them after an hour) and conformed to the exact size and format asked for.
"""

from handler.backends.replicate.backend import ReplicateBackend
from handler.backends.replicate.inputs import ReplicateParams, flux_geometry

__all__ = ["ReplicateBackend", "ReplicateParams", "flux_geometry"]
