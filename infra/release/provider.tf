# The release role of one environment: what CI assumes (GitHub Actions, by OIDC) to run publish_ecr and deploy_ecs,
# and nothing more. `manage.py release_role` applies this folder with its own state per environment.
terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}

# Credentials, profile and AWS_ENDPOINT_URL come from the environment, as for every AWS tool.
provider "aws" {
  region = var.regiao
  # An environment's ACCOUNT: terraform itself refuses credentials of any other account.
  allowed_account_ids = length(var.contas_permitidas) > 0 ? var.contas_permitidas : null
}
