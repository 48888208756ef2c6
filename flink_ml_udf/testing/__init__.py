"""Test and demo infrastructure (a local Kafka broker, producing and consuming events); not product API."""
