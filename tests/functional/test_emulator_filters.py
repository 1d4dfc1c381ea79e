"""The filters AWS has and moto 5.2 lacks, taught to moto by the emulator (for the demo,
the tests and the benchmarks): they answer as AWS would."""

from __future__ import annotations

import boto3

from rolewarden.demo.builders import create_cluster, launch_instance, register_container_instance


def test_list_container_instances_honours_an_ec2_instance_id_filter(
    mock_aws: boto3.Session,
) -> None:
    # Given a cluster with three container instances
    ecs, ec2 = mock_aws.client("ecs"), mock_aws.client("ec2")
    cluster = create_cluster(ecs, "shop")
    instances = [launch_instance(ec2) for _ in range(3)]
    arns = [register_container_instance(ecs, ec2, cluster, i) for i in instances]

    # When they are listed by the cluster query language, naming two of them
    query = f"ec2InstanceId in ['{instances[0]}', '{instances[2]}']"
    listed = ecs.list_container_instances(cluster=cluster, filter=query)["containerInstanceArns"]

    # Then only those two are listed, and without a filter all three
    assert listed == sorted([arns[0], arns[2]])
    assert sorted(ecs.list_container_instances(cluster=cluster)["containerInstanceArns"]) == (
        sorted(arns)
    )
