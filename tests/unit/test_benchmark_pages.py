"""The benchmarks' model of AWS paging: what AWS would be asked, and the minimum."""

from __future__ import annotations

from collections import Counter

from benchmarks.accounts import AccountCounts
from benchmarks.aws_pages import aws_calls, minimum_sweep_calls


def test_an_unpaged_answer_counts_the_pages_aws_would_need_at_the_default_size() -> None:
    # Given moto answered ListServices with 25 services in one page, asked for no page size
    answer = {"serviceArns": [f"arn:{n}" for n in range(25)]}

    # Then AWS, at its default of 10 per page, needs 3 calls; at 100 per page, 1
    assert aws_calls("ecs", "ListServices", {}, answer) == 3
    assert aws_calls("ecs", "ListServices", {"maxResults": 100}, answer) == 1


def test_a_page_size_above_the_maximum_counts_at_the_maximum() -> None:
    answer = {"RoleDetailList": [{}] * 1500, "Policies": [{}] * 600}

    assert aws_calls("iam", "GetAccountAuthorizationDetails", {"MaxItems": 5000}, answer) == 3
    assert aws_calls("iam", "GetAccountAuthorizationDetails", {}, answer) == 21


def test_describe_instances_counts_instances_not_reservations() -> None:
    answer = {"Reservations": [{"Instances": [{}] * 600}, {"Instances": [{}] * 600}]}

    assert aws_calls("ec2", "DescribeInstances", {}, answer) == 2


def test_an_empty_listing_is_still_one_call_and_other_operations_count_once() -> None:
    assert aws_calls("ecs", "ListTasks", {}, {"taskArns": []}) == 1
    assert aws_calls("ecs", "DescribeTaskDefinition", {}, {}) == 1


def test_minimum_of_a_sweep_pages_lists_batches_describes_and_reads_each_definition() -> None:
    # Given an account with two clusters, 150 hosts on one, 2,500 instances, 250 active task
    # definitions, 3 AWS managed documents to read, and profiles without a role in use
    counts = AccountCounts(
        live_instances=2_500,
        roles=900,
        customer_policies=200,
        instance_profiles=300,
        roleless_profiles_in_use=2,
        attached_aws_policies=12,
        aws_policy_documents=3,
        clusters=["a", "b"],
        container_instances=Counter({"a": 150}),
        running_tasks=Counter({"a": 250, "b": 10}),
        services=Counter({"a": 12}),
        active_task_definitions=250,
        user_data_reads=4,
    )

    # When 120 findings are recorded and 30 announced
    minimum = minimum_sweep_calls(counts, findings=120, announced=30, table_bytes=3 << 20)

    # Then each service's minimum follows the documented page and batch sizes
    assert minimum == {
        "sts": 1,
        "iam": 2 + 1 + 3 + 1,  # authorization details, listing, documents, profiles
        "ec2": 3 + 4,  # instances at 1,000 a page, user data of 4 hosts
        "ecs": 1
        + 3  # clusters, task definitions listed at 100
        + (2 + 2)
        + (3 + 3)
        + (1 + 2)  # cluster a: hosts, tasks, services
        + (1 + 0)
        + (1 + 1)
        + (1 + 0)  # cluster b: nothing but 10 tasks
        + 250,  # one DescribeTaskDefinition each
        "dynamodb": 2 + 5 + 1 + 3,  # BatchGet 100, BatchWrite 25, TransactWrite 100, Scan
        "sns": 3 + 1,  # PublishBatch of 10, then the digest
    }
