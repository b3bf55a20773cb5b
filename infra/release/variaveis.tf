variable "nome" {
  type        = string
  description = "The role's name (release_role passes SERVICE-ENV-release)."
}

variable "regiao" {
  type        = string
  default     = "us-east-1"
  description = "AWS region (release_role passes the region of its AWS session)."
}

variable "github_repo" {
  type        = string
  description = "OWNER/REPO on GitHub whose workflows may assume the role."

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repo))
    error_message = "github_repo must be OWNER/REPO."
  }
}

variable "branch" {
  type        = string
  default     = "main"
  description = "The only branch whose workflows may assume the role."
}

variable "provedor_oidc_arn" {
  type        = string
  default     = ""
  description = "The account's GitHub OIDC provider when it exists already; empty: this folder makes it."
}

variable "repositorio_arn" {
  type        = string
  description = "The ECR repository that publish_ecr pushes to."
}

variable "ciclo_de_vida" {
  type        = bool
  default     = false
  description = "Whether the repository has a lifecycle policy (manter_ultimas_imagens), which publish_ecr's terraform reads."
}

variable "cluster" {
  type        = string
  description = "The service's ECS cluster, whose service the release may update."
}

variable "servico" {
  type        = string
  description = "The ECS service the release may update and describe."
}

variable "familia" {
  type        = string
  description = "The task-definition family that deploy_ecs registers revisions of."
}

variable "processos" {
  type        = list(string)
  default     = []
  description = "The services of the service's other processes (PROCESSES), which a release updates with the web."
}

variable "agendamentos" {
  type        = list(string)
  default     = []
  description = "The ARNs of the service's schedules (SCHEDULES), which a release points at the revision it deployed."
}

variable "papel_agendador_arn" {
  type        = string
  default     = ""
  description = "The role the service's schedules run tasks with, which updating a schedule passes again (empty: no schedule)."
}

variable "papeis_arns" {
  type        = list(string)
  description = "The service's execution and task roles: the only roles the release may pass to ECS."
}

variable "grupo_logs" {
  type        = string
  description = "The service's log group (deploy_ecs reads its one-off tasks' logs)."
}

variable "alarmes" {
  type        = list(string)
  default     = []
  description = "The alarms deploy_ecs watches during its bake."
}

variable "estado" {
  type = object({
    bucket  = string
    prefixo = string
    tabela  = string
    regiao  = optional(string, "")
  })
  default     = { bucket = "", prefixo = "", tabela = "" }
  description = "The S3 state of the environment (bucket, key prefix, DynamoDB lock table, and the bucket's region, where the table is too; empty: regiao); an empty bucket: local state."
}

variable "contas_permitidas" {
  type        = list(string)
  default     = []
  description = "The AWS account ids terraform may apply in (ECR_DEPLOY['ACCOUNT']); empty: any."
}

variable "etiquetas" {
  type        = map(string)
  default     = {}
  description = "Tags on everything this folder makes (ecr_deploy:project, ecr_deploy:environment)."
}
