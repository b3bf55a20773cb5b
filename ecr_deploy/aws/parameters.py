"""A service's configuration in SSM Parameter Store: one path per service and environment, one parameter per
variable, a plain value as a String and a secret as a SecureString. What lists them reads no value but the plain
ones; a task reads them all by ARN when it starts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ecr_deploy.aws.session import account_id, aws_call

#: Parameter Store's limit for a standard parameter's value (4 KB).
MAX_VALUE_BYTES = 4096


@dataclass(frozen=True)
class Parameter:
    """One variable of the configuration; value only for a plain one, and only when it was read."""

    key: str
    arn: str
    secret: bool
    changed: datetime
    value: str | None = None


def configuration_path(service: str, environment: str) -> str:
    return f"/ecr_deploy/{service}/{environment}/"


class ParameterStore:
    """The parameters under one path, in the session's account and region."""

    def __init__(self, session: Any, path: str) -> None:
        self.session = session
        self.ssm = session.client("ssm")
        self.path = path

    def arn(self, key: str) -> str:
        """The ARN a parameter of the path has (DescribeParameters gives each one's; this names one by its key)."""
        session = self.session
        partition = session.get_partition_for_region(session.region_name)
        return f"arn:{partition}:ssm:{session.region_name}:{account_id(session)}:parameter{self.path}{key}"

    def parameters(self, *, with_plain_values: bool = False) -> list[Parameter]:
        """Every parameter under the path, by key; a plain one's value when asked, a secret's never."""
        found: list[dict[str, Any]] = []
        pages = {"ParameterFilters": [{"Key": "Path", "Option": "OneLevel", "Values": [self.path.rstrip("/")]}]}
        while True:
            answer = aws_call(f"list the parameters under {self.path}", self.ssm.describe_parameters, **pages)
            found += answer["Parameters"]
            if not answer.get("NextToken"):
                break
            pages["NextToken"] = answer["NextToken"]
        values: dict[str, str] = {}
        plain = [item["Name"] for item in found if item["Type"] != "SecureString"]
        if with_plain_values:
            for start in range(0, len(plain), 10):  # GetParameters takes ten names at most
                answer = aws_call(
                    f"read the plain values under {self.path}", self.ssm.get_parameters, Names=plain[start : start + 10]
                )
                values |= {item["Name"]: item["Value"] for item in answer["Parameters"]}
        return sorted(
            (
                Parameter(
                    key=item["Name"].removeprefix(self.path),
                    arn=item["ARN"],
                    secret=item["Type"] == "SecureString",
                    changed=item["LastModifiedDate"],
                    value=values.get(item["Name"]),
                )
                for item in found
            ),
            key=lambda parameter: parameter.key,
        )

    def put(self, key: str, value: str, *, secret: bool) -> None:
        aws_call(
            f"put the parameter {self.path}{key}",
            self.ssm.put_parameter,
            Name=f"{self.path}{key}",
            Value=value,
            Type="SecureString" if secret else "String",
            Overwrite=True,
        )

    def delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 10):  # DeleteParameters takes ten names at most
            names = [f"{self.path}{key}" for key in keys[start : start + 10]]
            aws_call(f"delete parameters under {self.path}", self.ssm.delete_parameters, Names=names)
