"""The extra baseline policies (ROLEWARDEN_EXTRA_BASELINE_POLICY_ARNS), judged at start-up.

Whatever a baseline policy grants is trusted, so one granting critical actions would
disarm the guardrail: it is refused, as critical extra baseline actions are. AWS managed
policies known to be critical are refused by name (settings.py, no call); RoleWarden's own
baseline policies need no reading; any other is read (GetPolicy, GetPolicyVersion: two
calls per policy per cold start) and judged by its document. One that cannot be read or
parsed is refused too: assume the worst.
"""

from __future__ import annotations

from rolewarden.aws.clients import AwsClients
from rolewarden.aws.errors import InventoryError, call
from rolewarden.policy.classify import load_baseline
from rolewarden.policy.critical import critical_grants_of
from rolewarden.policy.document import PolicyDocument, PolicyParseError, parse_policy_document
from rolewarden.policy.evaluate import PolicyRef
from rolewarden.settings import CRITICAL_BASELINE_POLICY, PREFIX, Settings, SettingsError

VARIABLE = PREFIX + "EXTRA_BASELINE_POLICY_ARNS"
SHOWN = 5  # critical grants named in the error


def check_extra_baseline_policies(settings: Settings, clients: AwsClients) -> None:
    """SettingsError naming the first extra baseline policy that grants a critical action
    or cannot be read."""
    built_in = load_baseline()
    for arn in settings.extra_baseline_policy_arns:
        if built_in.is_baseline_policy(PolicyRef("managed", arn, arn)):
            continue
        critical = critical_grants_of(_document(clients, arn))
        if critical:
            shown = ", ".join(critical[:SHOWN]) + (", ..." if len(critical) > SHOWN else "")
            raise SettingsError(
                f"invalid setting: {VARIABLE}: {CRITICAL_BASELINE_POLICY}: {arn} grants {shown}"
            )


def _document(clients: AwsClients, arn: str) -> PolicyDocument:
    iam = clients.client("iam")
    try:
        policy = call(InventoryError, "iam:GetPolicy", iam.get_policy, PolicyArn=arn)["Policy"]
        answer = call(
            InventoryError,
            "iam:GetPolicyVersion",
            iam.get_policy_version,
            PolicyArn=arn,
            VersionId=policy["DefaultVersionId"],
        )
        return parse_policy_document(answer["PolicyVersion"]["Document"])
    except InventoryError as error:
        problem = str(error)
    except PolicyParseError as error:
        problem = f"its document is not a policy: {error}"
    raise SettingsError(
        f"invalid setting: {VARIABLE}: {arn} cannot be read ({problem}), so nothing shows "
        "it grants no critical action: refused"
    )
