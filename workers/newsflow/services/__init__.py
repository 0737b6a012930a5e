"""This checkout's local Kafka broker and Elasticsearch node: install, start, stop, status.

Downloads are cached once per user under newsflow.paths.cache_dir(); data, logs, pids and
the chosen endpoints live under newsflow.paths.state_dir() (services.json, which
newsflow.settings reads). deploy/local/README.md says what is downloaded from where.
"""

from newsflow.services.manager import SERVICES, down, start_service, status, stop_service, up

__all__ = ["SERVICES", "down", "start_service", "status", "stop_service", "up"]
