"""The regions AWS has, from botocore's own partition data (shipped with it, so as current
as the SDK the functions run)."""

from functools import cache

from botocore.loaders import create_loader


@cache
def aws_regions() -> frozenset[str]:
    partitions = create_loader().load_data("partitions")["partitions"]
    return frozenset(region for partition in partitions for region in partition["regions"])
