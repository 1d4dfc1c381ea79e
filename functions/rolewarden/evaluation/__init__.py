"""Evaluating what a trigger names: a Config item, a CloudTrail call, a task, the account."""
