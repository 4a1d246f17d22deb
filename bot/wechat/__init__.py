"""The WeChat Official Account channel: callback endpoint, customer-service message API, and the
state both need across retries, restarts and replicas (in the profile database)."""
