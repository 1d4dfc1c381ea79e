"""Reading ECS_AWSVPC_BLOCK_IMDS from user data: it decides whether awsvpc tasks reach IMDS."""

from __future__ import annotations

import pytest

from rolewarden.inventory.ec2 import parse_ecs_agent_settings

BLOCKED = {"ECS_AWSVPC_BLOCK_IMDS": "true"}


@pytest.mark.parametrize(
    "user_data",
    [
        "#!/bin/bash\necho ECS_AWSVPC_BLOCK_IMDS=true >> /etc/ecs/ecs.config",
        '#!/bin/bash\necho "ECS_AWSVPC_BLOCK_IMDS=true" >> /etc/ecs/ecs.config',
        "cat <<'EOF' >> /etc/ecs/ecs.config\nECS_CLUSTER=shop\nECS_AWSVPC_BLOCK_IMDS=true\nEOF",
        "export ECS_AWSVPC_BLOCK_IMDS = TRUE",
        '[settings.ecs]\ncluster = "shop"\nawsvpc-block-imds = true',
    ],
)
def test_the_ways_operators_set_it_are_read(user_data: str) -> None:
    # Given user data in one of the usual shapes (Amazon Linux shell, Bottlerocket TOML)
    # When / Then the setting is found
    assert parse_ecs_agent_settings(user_data) == BLOCKED


def test_a_comment_does_not_set_it() -> None:
    # Given the setting only in a comment (a plan, not a setting)
    user_data = "#!/bin/bash\n# TODO: ECS_AWSVPC_BLOCK_IMDS=true once the app stops using IMDS"
    # When / Then nothing is set: awsvpc tasks will be assumed to reach IMDS
    assert parse_ecs_agent_settings(user_data) == {}


def test_the_last_assignment_wins() -> None:
    # Given the setting written twice, as it would end up in ecs.config
    user_data = "echo ECS_AWSVPC_BLOCK_IMDS=true >> f\necho ECS_AWSVPC_BLOCK_IMDS=false >> f"
    # When / Then the later value counts
    assert parse_ecs_agent_settings(user_data) == {"ECS_AWSVPC_BLOCK_IMDS": "false"}
