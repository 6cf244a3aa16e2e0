"""mlgov governance runtime: the Lambda code (boto3 and Powertools only)."""
