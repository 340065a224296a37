# Runs moto_server with one change: an EC2 resource reads its own tags from the backend's per-resource map.
# moto answers get_tags() by scanning every tag of every resource, so a DescribeNetworkInterfaces with a tag
# filter costs O(ENIs x all tags); at 500 nodes (2,000 ENIs, ~12,000 tags) that made the emulator, not the
# code under test, the limit of a benchmark. The answer is the same: the tags of exactly this resource.
import sys
import threading

from moto.core.responses import BaseResponse
from moto.ec2.models.core import TaggedEC2Resource
from moto.ec2.utils import EC2_PREFIX_TO_RESOURCE, get_prefix


def own_tags(self):
    resource_id = getattr(self, "id", None)
    if not resource_id:
        return []
    kind = EC2_PREFIX_TO_RESOURCE.get(get_prefix(resource_id), "")
    tags = self.ec2_backend.tags.get(resource_id, {})
    return [{"resource_id": resource_id, "key": k, "value": v, "resource_type": kind} for k, v in list(tags.items())]


TaggedEC2Resource.get_tags = own_tags

# moto_server serves requests on threads, but its backends are plain dicts: a detach iterating over the ENIs
# while another request deletes one fails with "dictionary changed size during iteration" (HTTP 500, seen in a
# 500-node benchmark). One request at a time inside the backend: the GIL allowed no more CPU parallelism, but a
# long describe now delays the short calls queued behind it.
_backend_lock = threading.Lock()
_dispatch = BaseResponse.dispatch.__func__


def serialised_dispatch(cls, *args, **kwargs):
    with _backend_lock:
        return _dispatch(cls, *args, **kwargs)


BaseResponse.dispatch = classmethod(serialised_dispatch)

from moto.server import main  # noqa: E402  (after the patch, so every backend sees it)

sys.exit(main())
