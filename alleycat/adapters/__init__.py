"""Adapters: the project's side of each AWS service (boto3 clients, the race table, streams, the
dead letter, the live channel). They sit on the domain and are used by the stages above."""
