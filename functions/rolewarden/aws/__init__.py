"""AWS plumbing every layer shares: clients and their retries, errors, ARNs, tags."""
