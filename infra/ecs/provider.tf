# The service's long-lived pieces on ECS Fargate behind an Application Load Balancer. `manage.py provision_ecs`
# applies this folder with its own state per environment; `manage.py deploy_ecs` then owns the image.
terraform {
  # ephemeral resources (1.10) and write-only arguments (1.11) keep the database's password out of the state.
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}

# Credentials, profile and AWS_ENDPOINT_URL come from the environment, as for every AWS tool.
provider "aws" {
  region      = var.regiao
  max_retries = var.max_tentativas
  # An environment's ACCOUNT: terraform itself refuses credentials of any other account.
  allowed_account_ids = length(var.contas_permitidas) > 0 ? var.contas_permitidas : null
}
