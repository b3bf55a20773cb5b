"""What talks to the AWS APIs through boto3: the session, ECR, ECS, secrets and the S3 state."""
