"""newsflow: stream ingestion of news articles from Kafka into Elasticsearch."""

__version__ = "0.1.0"
