"""The deployment scripts: run as files (``.venv/bin/python deploy/cluster.py up``), imported by the
tests and the benchmarks as ``deploy.cluster`` and ``deploy.patroni_cluster`` from the repository's root."""
