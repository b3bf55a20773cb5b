"""Build a Django project's image and publish it to Amazon ECR with Terraform."""
