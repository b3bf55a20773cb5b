variable "nome" {
  type        = string
  description = "ECR repository name (publish_ecr passes --repository)."
}

variable "regiao" {
  type        = string
  default     = "us-east-1"
  description = "AWS region (publish_ecr passes the region of its AWS session)."
}

variable "scan_on_push" {
  type        = bool
  default     = true
  description = "Scan every pushed image for vulnerabilities."
}

variable "mutabilidade_tags" {
  type        = string
  default     = "MUTABLE"
  description = "MUTABLE, or IMMUTABLE so that a pushed tag can never point at another image."

  validation {
    condition     = contains(["MUTABLE", "IMMUTABLE"], var.mutabilidade_tags)
    error_message = "mutabilidade_tags must be MUTABLE or IMMUTABLE."
  }
}

variable "manter_ultimas_imagens" {
  type        = number
  default     = 0
  description = "Keep only the last N images and expire untagged ones after a day, never the images that deploy_ecs marks as running or previous; 0 adds no lifecycle policy."
}

variable "etiquetas" {
  type        = map(string)
  default     = {}
  description = "Tags on the repository; publish_ecr adds ecr_deploy:project and ecr_deploy:environment."
}

variable "contas_permitidas" {
  type        = list(string)
  default     = []
  description = "The AWS account ids terraform may act in (an environment's ACCOUNT); empty: any."
}

variable "kms_chave" {
  type        = string
  default     = ""
  description = "A KMS key ARN to encrypt the images with; empty: ECR's AES256. Set before the repository exists."
}
