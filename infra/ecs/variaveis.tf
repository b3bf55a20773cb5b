variable "nome" {
  type        = string
  description = "The service's name: cluster, service, task family, load balancer (provision_ecs passes it)."

  # AWS's rules for the names it gives: load balancer and target group (no - at either end, not internal-),
  # security groups (not sg-), and the RDS instance (a letter first, no --).
  validation {
    condition = alltrue([
      can(regex("^[a-z0-9]([a-z0-9-]{0,24}[a-z0-9])?$", var.nome)),
      !strcontains(var.nome, "--"),
      !startswith(var.nome, "internal-"),
      !startswith(var.nome, "sg-"),
    ])
    error_message = "nome must be 1 to 26 lowercase letters, digits and single hyphens, no hyphen at either end, not beginning with internal- or sg-."
  }

  validation {
    condition     = !var.banco_rds || can(regex("^[a-z]", var.nome))
    error_message = "nome names the RDS instance (banco_rds): it must begin with a letter."
  }
}

variable "sufixo_global" {
  type        = string
  default     = ""
  description = "Appended to the names that IAM and S3 keep account-wide (the roles, the access logs' bucket), so that one service in two regions of an account never collides: provision_ecs passes the region for a new service; one made before keeps its names."
}

variable "regiao" {
  type        = string
  default     = "us-east-1"
  description = "AWS region (provision_ecs passes the region of its AWS session)."
}

variable "imagem" {
  type        = string
  description = "The first task definition's image, URI@sha256:...; deploy_ecs registers every later one."
}

variable "container" {
  type        = string
  default     = "app"
  description = "The container's name in the task definition."
}

variable "porta" {
  type        = number
  default     = 8000
  description = "The port the container serves on (the image's EXPOSE)."
}

variable "cpu" {
  type        = number
  default     = 256
  description = "Fargate CPU units per task (256 = 0.25 vCPU)."
}

variable "memoria" {
  type        = number
  default     = 512
  description = "Fargate memory per task, in MiB: one of the values Fargate pairs with cpu."

  # ECS developer guide, "Task CPU and memory": the only pairs Fargate runs.
  validation {
    condition = contains(lookup({
      256   = [512, 1024, 2048]
      512   = range(1024, 4097, 1024)
      1024  = range(2048, 8193, 1024)
      2048  = range(4096, 16385, 1024)
      4096  = range(8192, 30721, 1024)
      8192  = range(16384, 61441, 4096)
      16384 = range(32768, 122881, 8192)
    }, var.cpu, []), var.memoria)
    error_message = "Fargate has no task of this cpu and memoria (256: 512 to 2048; 512: 1024 to 4096; 1024: 2048 to 8192, in steps of 1024; ...)."
  }
}

variable "tarefas_desejadas" {
  type        = number
  default     = 1
  description = "Tasks at creation; autoscaling moves it between tarefas_min and tarefas_max afterwards."
}

variable "tarefas_min" {
  type        = number
  default     = 1
  description = "Autoscaling's lowest task count (scale_ecs --min sets it through the API, and wants the settings to say the same)."
}

variable "tarefas_max" {
  type        = number
  default     = 4
  description = "Autoscaling's highest task count (scale_ecs --max sets it through the API, and wants the settings to say the same)."
}

variable "cpu_alvo" {
  type        = number
  default     = 60
  description = "Average CPU % that autoscaling keeps the service at."
}

variable "saudavel_min_pct" {
  type        = number
  default     = 100
  description = "Minimum healthy percent during a deployment."
}

variable "saudavel_max_pct" {
  type        = number
  default     = 200
  description = "Maximum percent during a deployment."
}

variable "vpc_id" {
  type        = string
  default     = ""
  description = "The VPC; empty: the account's default VPC."
}

variable "sub_redes" {
  type        = list(string)
  default     = []
  description = "Subnets of the load balancer and the tasks, one per Availability Zone; empty: one of the VPC's per zone (a public one where the zone has it)."
}

variable "ip_publico" {
  type        = bool
  default     = true
  description = "Give tasks a public IP (needed to pull from ECR in default-VPC public subnets without a NAT)."
}

variable "database_url_secret_arn" {
  type        = string
  default     = ""
  description = "ARN of a Secrets Manager secret or SSM parameter holding DATABASE_URL; empty: the image's SQLite."
}

variable "segredos_arns" {
  type        = list(string)
  default     = []
  description = "What the tasks' secrets are read from (ECR_DEPLOY['ECS']['SECRETS'] and the database's; provision_ecs passes them as IAM resources): the execution role may read these and the service's own, nothing else."
}

variable "segredos_kms_chaves" {
  type        = list(string)
  default     = []
  description = "ARNs of the customer KMS keys that encrypt those secrets or SecureString parameters: the execution role may decrypt with them."
}

variable "etiquetas" {
  type        = map(string)
  default     = {}
  description = "Tags on every resource; provision_ecs adds ecr_deploy:project and ecr_deploy:environment."
}

variable "max_tentativas" {
  type        = number
  default     = 25
  description = "How often the AWS provider retries a failed call."
}

variable "contas_permitidas" {
  type        = list(string)
  default     = []
  description = "The AWS account ids terraform may act in (an environment's ACCOUNT); empty: any."
}

variable "banco_rds" {
  type        = bool
  default     = true
  description = "Make PostgreSQL on RDS for the service (ECR_DEPLOY['ECS']['DATABASE'] 'rds'; provision_ecs passes it)."
}

variable "banco_variaveis" {
  type        = string
  default     = "parts"
  description = "How the RDS database reaches the tasks: parts (DATABASE_HOST ...), url (a DATABASE_URL secret) or postgres (POSTGRES_HOST ...); ECR_DEPLOY['ECS']['DATABASE_VARIABLES'], passed by provision_ecs."

  validation {
    condition     = contains(["parts", "url", "postgres"], var.banco_variaveis)
    error_message = "banco_variaveis must be parts, url or postgres."
  }
}

variable "banco_versao" {
  type        = string
  default     = "17"
  description = "PostgreSQL's major version (RDS picks the newest minor one, and upgrades minor versions in the maintenance window)."
}

variable "banco_classe" {
  type        = string
  default     = "db.t4g.micro"
  description = "The RDS instance class (db.t4g.micro: about USD 12 a month in us-east-1)."
}

variable "banco_armazenamento_gb" {
  type        = number
  default     = 20
  description = "Storage in GB."
}

variable "banco_tipo_armazenamento" {
  type        = string
  default     = "gp3"
  description = "The RDS storage type (gp3, gp2 or io1)."
}

variable "banco_criptografado" {
  type        = bool
  default     = true
  description = "Encrypt the storage, its backups and snapshots (the account's aws/rds key)."
}

variable "banco_backup_dias" {
  type        = number
  default     = 7
  description = "Days of automated backups kept (point-in-time restore within them)."
}

variable "banco_atualizacao_menor_automatica" {
  type        = bool
  default     = true
  description = "Let RDS apply PostgreSQL's minor versions in the maintenance window."
}

variable "banco_aplicar_imediatamente" {
  type        = bool
  default     = false
  description = "Apply changes that restart the database now instead of in the maintenance window."
}

variable "banco_snapshot" {
  type        = string
  default     = ""
  description = "A DB snapshot to make the database from (provision_ecs --from-snapshot); none makes an empty one."
}

variable "banco_existente" {
  type        = map(string)
  default     = {}
  description = "The database name (nome) and master user (usuario) of the instance there is, or of the snapshot it is made from (provision_ecs reads them); empty: the service's name."
}

variable "banco_protecao_exclusao" {
  type        = bool
  default     = true
  description = "RDS refuses to delete the instance while this is on."
}

variable "banco_senha_versao" {
  type        = number
  default     = 1
  description = "Bump to rotate the master password: a new one is made and written to RDS and the secret, never to the state."
}

variable "alarme_5xx_pct" {
  type        = number
  default     = 1
  description = "The 5xx alarm fires above this percentage of the requests (per minute)."
}

variable "alarme_periodos" {
  type        = number
  default     = 3
  description = "One-minute periods each alarm looks at."
}

variable "alarme_pontos" {
  type        = number
  default     = 2
  description = "Breaching periods among alarme_periodos that fire an alarm."
}

variable "alarme_latencia_p99_s" {
  type        = number
  default     = 0
  description = "Fire when the p99 response time exceeds this many seconds; 0: no latency alarm."
}

variable "dominios" {
  type        = list(string)
  default     = []
  description = "The service's host names (ECR_DEPLOY['ECS']['DOMAINS']; provision_ecs passes them); the first names the certificate."
}

variable "zona_dns" {
  type        = string
  default     = ""
  description = "A Route 53 hosted zone (name or id) holding the domains: a certificate validated in it, and ALIAS records (HOSTED_ZONE)."
}

variable "certificado_arn" {
  type        = string
  default     = ""
  description = "An ACM certificate made elsewhere for the domains (CERTIFICATE_ARN); empty: one is made in zona_dns."
}

variable "politica_tls" {
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  description = "The HTTPS listener's TLS policy: TLS 1.3 and 1.2 with forward secrecy."
}

variable "alb_protecao_exclusao" {
  type        = bool
  default     = true
  description = "The load balancer refuses to be deleted while this is on (destroy_ecs turns it off first)."
}

variable "alb_logs_acesso" {
  type        = bool
  default     = true
  description = "Write the load balancer's access logs to a bucket made for them (S3 storage, a few cents a GB)."
}

variable "alb_logs_dias" {
  type        = number
  default     = 90
  description = "Days the access logs are kept."
}

variable "desregistro_s" {
  type        = number
  default     = 30
  description = "Seconds a leaving task keeps its requests (AWS's default, 300, slows every rollout; gunicorn needs 8)."
}

variable "logs_retencao_dias" {
  type        = number
  default     = 30
  description = "Days the tasks' CloudWatch logs are kept."
}

variable "logs_kms_chave" {
  type        = string
  default     = ""
  description = "A KMS key ARN for the tasks' log group (its policy must let CloudWatch Logs use it); empty: CloudWatch's own encryption."
}

variable "container_insights" {
  type        = bool
  default     = false
  description = "CloudWatch Container Insights on the cluster (billed per metric)."
}

variable "configuracao_caminho" {
  type        = string
  default     = ""
  description = "The Parameter Store path of config_ecs's variables (/ecr_deploy/SERVICE/ENVIRONMENT/), which the execution role may read; provision_ecs passes it."

  validation {
    condition     = var.configuracao_caminho == "" || can(regex("^/[A-Za-z0-9_./-]+/$", var.configuracao_caminho))
    error_message = "configuracao_caminho must be a path that begins and ends with /."
  }
}

variable "armazenamento" {
  type        = bool
  default     = false
  description = "An S3 bucket for the service's files, which the task role may use (ECR_DEPLOY['ECS']['STORAGE']; provision_ecs sets it)."
}

variable "armazenamento_versoes_dias" {
  type        = number
  default     = 30
  description = "Days an overwritten or deleted file's old version is kept in the storage bucket before S3 expires it."

  validation {
    condition     = var.armazenamento_versoes_dias >= 1
    error_message = "armazenamento_versoes_dias must be 1 or more."
  }
}

variable "processos" {
  type = map(object({
    comando              = list(string)
    cpu                  = number
    memoria              = number
    min                  = number
    max                  = number
    verificacao          = list(string)
    fila                 = optional(string, "")
    mensagens_por_tarefa = optional(number, 10)
  }))
  default     = {}
  description = "The service's other processes (ECR_DEPLOY['ECS']['PROCESSES']; provision_ecs sets it): by name, the command, the task size, the task counts, a health check command (empty: none), and the queue (one of filas) it scales on with its target of visible messages per task (empty: on its CPU)."

  validation {
    condition     = alltrue([for processo in values(var.processos) : processo.fila == "" || contains(var.filas, processo.fila)])
    error_message = "A process scales on one of filas."
  }
}

variable "filas" {
  type        = list(string)
  default     = []
  description = "The service's SQS queues, by their short names (ECR_DEPLOY['ECS']['QUEUES']; provision_ecs sets it)."
}

variable "filas_max_recebimentos" {
  type        = number
  default     = 5
  description = "How many times a message may be received, and not deleted, before SQS moves it to its queue's dead-letter queue."

  validation {
    condition     = var.filas_max_recebimentos >= 1 && var.filas_max_recebimentos <= 1000
    error_message = "filas_max_recebimentos must be 1 to 1000, as SQS takes it."
  }
}

variable "filas_visibilidade_s" {
  type        = number
  default     = 300
  description = "Seconds a received message stays hidden from other workers: longer than a job runs (Celery's visibility_timeout should match)."

  validation {
    condition     = var.filas_visibilidade_s >= 0 && var.filas_visibilidade_s <= 43200
    error_message = "filas_visibilidade_s must be 0 to 43200 (12 hours), as SQS takes it."
  }
}

variable "agendamentos" {
  type = map(object({
    expressao = string
    fuso      = string
    comando   = list(string)
  }))
  default     = {}
  description = "The scheduled jobs (ECR_DEPLOY['ECS']['SCHEDULES']; provision_ecs sets it): by name, the Scheduler expression, its time zone and the command of the one-off task."
}
