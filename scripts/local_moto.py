"""moto_server as scripts/local-aws runs it, with ECR authorization tokens shaped like AWS's.

- A token expires 12 hours after it is issued, as on AWS (moto's own carry a fixed date in 2015, which would
  make every client fetch a new one at every call).
- Every account's token carries the default account's password: one registry, with one htpasswd, serves the
  ECR host of each account that the tests reach (STS AssumeRole into a second account).
- Application Auto Scaling answers ListTagsForResource, TagResource and UntagResource (moto has none of them),
  which the Terraform AWS provider calls on every scalable target it reads.
- The password inside a region's tokens can be rotated by writing it to $LOCAL_AWS_ECR_PASSWORDS/<region>,
  so that a registry's rotation can be played for real: the registry's htpasswd changes, and so does what
  GetAuthorizationToken hands out.
"""

import base64
import json
import os
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ecr.responses import ECRResponse
from moto.server import main

issue_token = ECRResponse.get_authorization_token


def get_authorization_token(self):
    result = issue_token(self)
    rotated = Path(os.environ.get("LOCAL_AWS_ECR_PASSWORDS", "/nonexistent")) / self.region
    password = rotated.read_text().strip() if rotated.is_file() else f"{DEFAULT_ACCOUNT_ID}-auth-token"
    for data in result.result["authorizationData"]:
        data["expiresAt"] = datetime.now(timezone.utc) + timedelta(hours=12)
        data["authorizationToken"] = base64.b64encode(f"AWS:{password}".encode()).decode()
    return result


ECRResponse.get_authorization_token = get_authorization_token

scalable_target_tags: dict[str, dict[str, str]] = {}


def list_tags_for_resource(self):
    return json.dumps({"Tags": scalable_target_tags.get(self._get_param("ResourceARN"), {})})


def tag_resource(self):
    scalable_target_tags.setdefault(self._get_param("ResourceARN"), {}).update(self._get_param("Tags") or {})
    return "{}"


def untag_resource(self):
    tags = scalable_target_tags.get(self._get_param("ResourceARN"), {})
    for key in self._get_param("TagKeys") or []:
        tags.pop(key, None)
    return "{}"


ApplicationAutoScalingResponse.list_tags_for_resource = list_tags_for_resource
ApplicationAutoScalingResponse.tag_resource = tag_resource
ApplicationAutoScalingResponse.untag_resource = untag_resource

if __name__ == "__main__":
    sys.exit(main())
